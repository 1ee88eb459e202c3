import { fetchWorker } from "./worker-fetch";

/** What signup, signin, refresh and link answer. */
export interface Session {
  user: { id: string; email: string | null; emailVerified: boolean; anonymous: boolean; createdAt: string; data: Record<string, unknown> };
  session: { accessToken: string; refreshToken: string; expiresAt: number; tokenType: string };
}

let ipCounter = 0;

/** A client IP of its own, so one test's attempts never meet another's per-IP limit. */
export function freshIp(): string {
  ipCounter += 1;
  return `10.${(ipCounter >> 16) & 255}.${(ipCounter >> 8) & 255}.${ipCounter & 255}`;
}

/** POSTs JSON to an accounts route from `ip`, with an optional bearer token. */
export function authPost(path: string, body: unknown, options: { ip?: string; bearer?: string } = {}): Promise<Response> {
  const headers: Record<string, string> = { "Content-Type": "application/json", "CF-Connecting-IP": options.ip ?? freshIp() };
  if (options.bearer !== undefined) headers.Authorization = `Bearer ${options.bearer}`;
  return fetchWorker(`/api/auth/${path}`, { method: "POST", headers, body: JSON.stringify(body) });
}

/** A unique email for a test. */
export function freshEmail(label: string): string {
  return `${label}-${crypto.randomUUID().slice(0, 8)}@example.com`;
}

/** Signs up a new user and returns its session (throws unless 201). */
export async function signUp(email = freshEmail("user"), password = "correct horse battery"): Promise<Session> {
  const response = await authPost("signup", { email, password });
  if (response.status !== 201) throw new Error(`signup answered ${response.status}: ${await response.text()}`);
  return (await response.json()) as Session;
}
