// `#/accounts`: find an account by email or id, disable or enable it, end its sessions.
import { useState } from "preact/hooks";
import type { Account } from "../../client/index";
import { describe, useSession } from "./session";
import { ErrorNote, Status, time } from "./ui";

/** `#/accounts`: search and act on accounts. */
export function AccountsPage() {
  const { call } = useSession();
  const [by, setBy] = useState<"email" | "id">("email");
  const [value, setValue] = useState("");
  const [found, setFound] = useState<Account[] | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [failure, setFailure] = useState<string | null>(null);

  async function act(run: () => Promise<string>) {
    setFailure(null);
    setNotice(null);
    try {
      setNotice(await run());
    } catch (err) {
      setFailure(describe(err));
    }
  }

  const replace = (account: Account) => setFound((old) => old?.map((a) => (a.id === account.id ? account : a)) ?? null);

  return (
    <>
      <h1>Accounts</h1>
      <form
        class="inline"
        aria-label="Find accounts"
        onSubmit={(event) => {
          event.preventDefault();
          const needle = value.trim();
          void act(async () => {
            const items = await call((client) => client.admin.accounts.find(by === "email" ? { email: needle } : { id: needle }));
            setFound(items);
            return `${items.length} account${items.length === 1 ? "" : "s"} found.`;
          });
        }}
      >
        <label for="acct-by">Find by</label>
        <select id="acct-by" value={by} onChange={(e) => setBy(e.currentTarget.value === "id" ? "id" : "email")}>
          <option value="email">email</option>
          <option value="id">user id</option>
        </select>
        <label for="acct-value">{by === "email" ? "Email" : "User id"}</label>
        <input id="acct-value" class="wide" value={value} onInput={(e) => setValue(e.currentTarget.value)} />
        <button type="submit" disabled={!value.trim()}>
          Find
        </button>
      </form>
      {notice ? <Status>{notice}</Status> : null}
      <ErrorNote error={failure} />
      {found && found.length > 0 ? (
        <table>
          <thead>
            <tr>
              <th scope="col">Id</th>
              <th scope="col">Email</th>
              <th scope="col">Verified</th>
              <th scope="col">Anonymous</th>
              <th scope="col">Created</th>
              <th scope="col">Sessions</th>
              <th scope="col">Status</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {found.map((account) => (
              <tr key={account.id} data-account={account.id}>
                <th scope="row">
                  <code>{account.id}</code>
                </th>
                <td>{account.email ?? ""}</td>
                <td>{account.emailVerified ? "yes" : "no"}</td>
                <td>{account.anonymous ? "yes" : "no"}</td>
                <td>{time(account.createdAt)}</td>
                <td>{account.sessions}</td>
                <td>{account.disabled ? "disabled" : "active"}</td>
                <td class="actions">
                  <button
                    type="button"
                    class={account.disabled ? "" : "danger"}
                    onClick={() =>
                      void act(async () => {
                        const next = await call((client) => client.admin.accounts.setDisabled(account.id, !account.disabled));
                        replace(next);
                        return `${next.disabled ? "Disabled" : "Enabled"} ${next.id}.`;
                      })
                    }
                  >
                    {account.disabled ? "Enable" : "Disable"}
                  </button>
                  <button
                    type="button"
                    class="secondary"
                    onClick={() =>
                      void act(async () => {
                        const { ended } = await call((client) => client.admin.accounts.endSessions(account.id));
                        replace({ ...account, sessions: 0 });
                        return `Ended ${ended} session${ended === 1 ? "" : "s"} of ${account.id}.`;
                      })
                    }
                  >
                    End sessions
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </>
  );
}
