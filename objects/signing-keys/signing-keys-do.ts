import { DurableObject } from "cloudflare:workers";
import { type JWK, exportJWK, generateKeyPair } from "jose";
import { type RpcResult, capture } from "../../shared/rpc";
import { OWN_KID_PREFIX, SIGNING_ALG, type SigningKey, type SigningKeysRpc } from "./contract";

interface KeyRow extends Record<string, SqlStorageValue> {
  kid: string;
  private_jwk: string;
  public_jwk: string;
  created_at: number;
  retire_after: number | null;
}

/**
 * The accounts service's signing keys (docs/auth.md, "Keys"). One key signs; after a rotation the
 * old one is still published until `retire_after`, when the tokens it signed have all expired, and
 * is then deleted. Private keys never leave except to the Worker that signs with them.
 */
export class SigningKeysDO extends DurableObject<Env> implements SigningKeysRpc {
  readonly #sql: SqlStorage;
  /** A key being created: concurrent first calls wait for the same one. */
  #creating: Promise<SigningKey> | null = null;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.#sql = ctx.storage.sql;
    this.#sql.exec(
      `CREATE TABLE IF NOT EXISTS signing_keys (
         kid TEXT PRIMARY KEY, private_jwk TEXT NOT NULL, public_jwk TEXT NOT NULL,
         created_at INTEGER NOT NULL, retire_after INTEGER)`,
    );
  }

  current(): Promise<RpcResult<SigningKey>> {
    return capture(() => this.#current());
  }

  publicKeys(): Promise<RpcResult<{ keys: JWK[] }>> {
    return capture(async () => {
      await this.#current();
      this.#sql.exec("DELETE FROM signing_keys WHERE retire_after IS NOT NULL AND retire_after <= ?", Date.now());
      const rows = this.#sql.exec<KeyRow>("SELECT * FROM signing_keys ORDER BY created_at DESC").toArray();
      return { keys: rows.map((row) => JSON.parse(row.public_jwk) as JWK) };
    });
  }

  rotate(retainMs: number): Promise<RpcResult<{ kid: string; retired: string | null }>> {
    return capture(async () => {
      const made = await makeKey();
      // From here nothing is awaited, so two rotations cannot both retire the same key.
      const old = this.#signing();
      const next = this.#insert(made);
      if (old !== null) this.#sql.exec("UPDATE signing_keys SET retire_after = ? WHERE kid = ?", Date.now() + retainMs, old.kid);
      return { kid: next.kid, retired: old?.kid ?? null };
    });
  }

  async #current(): Promise<SigningKey> {
    const row = this.#signing();
    if (row !== null) return { kid: row.kid, privateJwk: JSON.parse(row.private_jwk) as JWK };
    this.#creating ??= this.#create().finally(() => {
      this.#creating = null;
    });
    return this.#creating;
  }

  /** The newest key not retired, or null. */
  #signing(): KeyRow | null {
    return (
      this.#sql.exec<KeyRow>("SELECT * FROM signing_keys WHERE retire_after IS NULL ORDER BY created_at DESC LIMIT 1").toArray()[0] ?? null
    );
  }

  async #create(): Promise<SigningKey> {
    return this.#insert(await makeKey());
  }

  #insert(key: MadeKey): SigningKey {
    this.#sql.exec(
      "INSERT INTO signing_keys (kid, private_jwk, public_jwk, created_at, retire_after) VALUES (?, ?, ?, ?, NULL)",
      key.kid,
      JSON.stringify(key.privateJwk),
      JSON.stringify(key.publicJwk),
      Date.now(),
    );
    return { kid: key.kid, privateJwk: key.privateJwk };
  }
}

interface MadeKey extends SigningKey {
  publicJwk: JWK;
}

/** A new ES256 key pair with its id, as JWKs. */
async function makeKey(): Promise<MadeKey> {
  const { privateKey, publicKey } = await generateKeyPair(SIGNING_ALG, { extractable: true });
  const kid = `${OWN_KID_PREFIX}${Date.now().toString(36)}-${crypto.randomUUID().slice(0, 8)}`;
  const privateJwk = { ...(await exportJWK(privateKey)), kid, alg: SIGNING_ALG, use: "sig" };
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg: SIGNING_ALG, use: "sig" };
  return { kid, privateJwk, publicJwk };
}
