/** Container image references: `registry/repo:tag@sha256:digest`. */
export interface ImageRef {
  repository: string;
  tag?: string;
  digest?: string;
}

export function parseImage(image: string): ImageRef {
  let rest = image.trim();
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
  }
  const slash = rest.lastIndexOf('/');
  const colon = rest.lastIndexOf(':');
  const ref: ImageRef = { repository: rest };
  if (colon > slash) {
    ref.repository = rest.slice(0, colon);
    ref.tag = rest.slice(colon + 1);
  }
  if (digest) ref.digest = digest;
  return ref;
}

/** Tag resolution the kubelet applies: no tag means `latest`. */
export function floats(ref: ImageRef): boolean {
  return !ref.digest && (ref.tag === undefined || ref.tag === 'latest');
}
