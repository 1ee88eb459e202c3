// `#/rate-limits`: peek at a rate-limit key under a config policy or inline limits (changes
// nothing), and reset it (forgets the key's state).
import { useState } from "preact/hooks";
import type { RateLimitPolicies, RateLimitState } from "../../client/index";
import { describe, useSession } from "./session";
import { ErrorNote, Status } from "./ui";

const ALGORITHMS = ["gcra", "token_bucket", "sliding_window", "fixed_window"] as const;

/** `#/rate-limits`: peek and reset. */
export function RateLimitsPage() {
  const { schema, call } = useSession();
  const policies = Object.keys(schema.rateLimits?.policies ?? {});
  const [key, setKey] = useState("");
  const [policy, setPolicy] = useState(policies[0] ?? "");
  const [inline, setInline] = useState({ limit: "100", periodMs: "60000", algorithm: "gcra" as (typeof ALGORITHMS)[number] });
  const [state, setState] = useState<{ key: string; answer: RateLimitState } | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [failure, setFailure] = useState<string | null>(null);

  const which = (): RateLimitPolicies =>
    policy ? { policy } : { limit: Number(inline.limit), periodMs: Number(inline.periodMs), algorithm: inline.algorithm };

  async function peek(target = key.trim()) {
    setFailure(null);
    try {
      setState({ key: target, answer: await call((client) => client.admin.rateLimits.peek(target, which())) });
    } catch (err) {
      setState(null);
      setFailure(describe(err));
    }
  }

  async function reset() {
    const target = key.trim();
    setFailure(null);
    try {
      await call((client) => client.admin.rateLimits.reset(target));
      setNotice(`Reset ${target}.`);
      await peek(target);
    } catch (err) {
      setFailure(describe(err));
    }
  }

  return (
    <>
      <h1>Rate limits</h1>
      <form
        class="stack"
        aria-label="Rate-limit key"
        onSubmit={(event) => {
          event.preventDefault();
          setNotice(null);
          void peek();
        }}
      >
        <label for="rl-key">Key</label>
        <input id="rl-key" class="wide" placeholder="alice:send-invite" value={key} onInput={(e) => setKey(e.currentTarget.value)} />
        <label for="rl-policy">Policy</label>
        <select id="rl-policy" value={policy} onChange={(e) => setPolicy(e.currentTarget.value)}>
          {policies.map((name) => (
            <option key={name} value={name}>
              {name}
            </option>
          ))}
          <option value="">inline limits…</option>
        </select>
        {policy ? null : (
          <fieldset>
            <legend>Inline limits</legend>
            <label for="rl-limit">Limit</label>
            <input
              id="rl-limit"
              type="number"
              min={1}
              value={inline.limit}
              onInput={(e) => setInline({ ...inline, limit: e.currentTarget.value })}
            />
            <label for="rl-period">Period (ms)</label>
            <input
              id="rl-period"
              type="number"
              min={1}
              value={inline.periodMs}
              onInput={(e) => setInline({ ...inline, periodMs: e.currentTarget.value })}
            />
            <label for="rl-algorithm">Algorithm</label>
            <select
              id="rl-algorithm"
              value={inline.algorithm}
              onChange={(e) => setInline({ ...inline, algorithm: e.currentTarget.value as (typeof ALGORITHMS)[number] })}
            >
              {ALGORITHMS.map((name) => (
                <option key={name} value={name}>
                  {name}
                </option>
              ))}
            </select>
          </fieldset>
        )}
        <div class="actions">
          <button type="submit" disabled={!key.trim()}>
            Peek
          </button>
          <button type="button" class="danger" disabled={!key.trim()} onClick={() => void reset()}>
            Reset key
          </button>
        </div>
      </form>
      {notice ? <Status>{notice}</Status> : null}
      <ErrorNote error={failure} />
      {state ? (
        <section class="card" aria-labelledby="rl-result">
          <h2 id="rl-result">
            <code>{state.key}</code>
          </h2>
          <dl id="rl-answer">
            <dt>Next request</dt>
            <dd data-field="allowed">{state.answer.allowed ? "allowed" : "denied"}</dd>
            <dt>Remaining</dt>
            <dd data-field="remaining">
              {state.answer.remaining} of {state.answer.limit}
            </dd>
            <dt>Retry after</dt>
            <dd>{state.answer.retryAfterMs} ms</dd>
            <dt>Fully replenished in</dt>
            <dd>{state.answer.resetAfterMs} ms</dd>
          </dl>
        </section>
      ) : null}
    </>
  );
}
