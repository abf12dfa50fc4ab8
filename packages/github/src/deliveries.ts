/**
 * The GitHub side of the delivery sweep (GitHub's "Handling failed webhook
 * deliveries"): GitHub never redelivers by itself, so a scheduled sweep lists
 * the App hook's deliveries since its last run (App JWT, newest first, paged
 * with the `cursor` of the `link` header), keeps the GUIDs none of whose
 * attempts succeeded, and asks for each to be delivered again.
 *
 * The `status=failure` filter of the endpoint is not used: it only covers
 * status codes 400-599, and a receiver that was down or too slow ("failed to
 * connect", "timed out") has status code 0.
 */
import type { Logger } from '@labgrader/core';
import { githubCall } from './call.js';
import type { GithubOctokit } from './client.js';
import type { WebhookDeliveries, WebhookDelivery } from './contracts.js';

interface ListedDelivery {
  id: number;
  guid: string;
  delivered_at: string;
  redelivery: boolean;
  status: string;
  status_code: number;
  event: string;
  action: string | null;
  installation_id: number | null;
  repository_id: number | null;
}

/** An attempt that reached the receiver and was accepted. */
export function deliverySucceeded(d: { status: string; status_code: number }): boolean {
  return d.status === 'OK' || (d.status_code >= 200 && d.status_code < 300);
}

const ROUTE = {
  list: 'GET /app/hook/deliveries',
  redeliver: 'POST /app/hook/deliveries/{delivery_id}/attempts',
};

export class AppWebhookDeliveries implements WebhookDeliveries {
  constructor(
    private readonly appClient: GithubOctokit,
    private readonly logger: Logger,
  ) {}

  async failedSince(since: Date): Promise<WebhookDelivery[]> {
    const from = since.getTime();
    const attempts: ListedDelivery[] = [];
    await githubCall(this.logger, ROUTE.list, async () => {
      const pages = this.appClient.paginate.iterator('GET /app/hook/deliveries', { per_page: 100 });
      for await (const page of pages) {
        let older = false;
        for (const d of page.data as ListedDelivery[]) {
          if (Date.parse(d.delivered_at) < from) older = true;
          else attempts.push(d);
        }
        if (older) break; // newest first: the rest of the list is older still
      }
    });

    const byGuid = new Map<string, ListedDelivery[]>();
    for (const d of attempts) byGuid.set(d.guid, [...(byGuid.get(d.guid) ?? []), d]);
    const failed: WebhookDelivery[] = [];
    for (const [guid, tries] of byGuid) {
      if (tries.some(deliverySucceeded)) continue;
      const first = tries.reduce((a, b) => (Date.parse(a.delivered_at) <= Date.parse(b.delivered_at) ? a : b));
      const latest = tries.reduce((a, b) =>
        Date.parse(b.delivered_at) > Date.parse(a.delivered_at) || (b.delivered_at === a.delivered_at && b.id > a.id)
          ? b
          : a,
      );
      failed.push({
        id: latest.id,
        guid,
        event: latest.event,
        action: latest.action,
        deliveredAt: first.delivered_at,
        status: latest.status,
        statusCode: latest.status_code,
        redelivery: latest.redelivery,
        installationId: latest.installation_id,
        repositoryId: latest.repository_id,
      });
    }
    failed.sort((a, b) => Date.parse(a.deliveredAt) - Date.parse(b.deliveredAt) || a.id - b.id);
    this.logger.debug('webhook deliveries checked', {
      since: since.toISOString(),
      attempts: attempts.length,
      failed: failed.length,
    });
    return failed;
  }

  async redeliver(id: number): Promise<void> {
    await githubCall(this.logger, ROUTE.redeliver, () =>
      this.appClient.request('POST /app/hook/deliveries/{delivery_id}/attempts', { delivery_id: id }),
    );
    this.logger.info('webhook delivery redelivered', { deliveryAttemptId: id });
  }
}
