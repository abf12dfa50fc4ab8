/** A cookie-keeping client for the dashboard on loopback (no redirects followed unless asked). */
export class Browserless {
  readonly cookies = new Map<string, string>();
  constructor(readonly base: string) {}

  async request(pathOrUrl: string, init: RequestInit & { follow?: boolean } = {}): Promise<Response> {
    let url = pathOrUrl.startsWith('http') ? pathOrUrl : `${this.base}${pathOrUrl}`;
    let method = init.method ?? 'GET';
    let body = init.body;
    for (let hop = 0; hop < 10; hop += 1) {
      const own = url.startsWith(this.base);
      const headers = new Headers(init.headers);
      if (own && this.cookies.size > 0)
        headers.set('cookie', [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; '));
      const res = await fetch(url, { ...init, method, body: body ?? null, headers, redirect: 'manual' });
      if (own) {
        for (const line of res.headers.getSetCookie()) {
          const [pair] = line.split(';');
          const eq = pair!.indexOf('=');
          const name = pair!.slice(0, eq);
          const value = pair!.slice(eq + 1);
          if (/expires=Thu, 01 Jan 1970/i.test(line) || value === '') this.cookies.delete(name);
          else this.cookies.set(name, value);
        }
      }
      const location = res.headers.get('location');
      if (!init.follow || res.status < 300 || res.status >= 400 || !location) return res;
      url = new URL(location, url).toString();
      if (res.status === 303 || res.status === 302) {
        method = 'GET';
        body = undefined;
      }
    }
    throw new Error('too many redirects');
  }

  /** Signs in through "Sign in with GitHub" against the double (whose signed-in user the test chose). */
  async signInWithGithub(next = '/'): Promise<Response> {
    return this.request(`/auth/github?next=${encodeURIComponent(next)}`, { follow: true });
  }
}
