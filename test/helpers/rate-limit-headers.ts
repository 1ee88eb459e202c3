/**
 * A strict parser for the structured-field Lists (RFC 9651) used by the RateLimit and
 * RateLimit-Policy headers: members are sf-strings with Integer or String parameters. It throws on
 * anything else, so a test that parses a header also checks its syntax.
 */
export interface SfItem {
  value: string;
  params: Record<string, number | string>;
}

/** Parses a List of String items with parameters; throws on malformed input. */
export function parseSfList(input: string): SfItem[] {
  let i = 0;
  const items: SfItem[] = [];
  const fail = (what: string): never => {
    throw new Error(`invalid structured field at ${i} (${what}): ${input}`);
  };
  const skipSpaces = () => {
    while (input[i] === " ") i++;
  };
  const parseString = (): string => {
    if (input[i] !== '"') fail("expected a string");
    i++;
    let out = "";
    for (;;) {
      const c = input[i++];
      if (c === undefined) fail("unterminated string");
      if (c === "\\") {
        const next = input[i++];
        if (next !== '"' && next !== "\\") fail("bad escape");
        out += next;
      } else if (c === '"') {
        return out;
      } else {
        if (c! < " " || c! > "~") fail("non-printable character");
        out += c;
      }
    }
  };
  const parseInteger = (): number => {
    const match = /^-?\d{1,15}/.exec(input.slice(i));
    if (!match) return fail("expected an integer");
    i += match[0].length;
    if (input[i] === ".") fail("decimals are not Integers");
    return Number(match[0]);
  };
  skipSpaces();
  while (i < input.length) {
    const value = parseString();
    const params: Record<string, number | string> = {};
    while (input[i] === ";") {
      i++;
      const key = /^[a-z*][a-z0-9_\-.*]*/.exec(input.slice(i))?.[0] ?? fail("expected a key");
      i += key.length;
      if (input[i] !== "=") fail("parameters here always have values");
      i++;
      params[key] = input[i] === '"' ? parseString() : parseInteger();
    }
    items.push({ value, params });
    skipSpaces();
    if (i >= input.length) break;
    if (input[i] !== ",") fail("expected a comma");
    i++;
    skipSpaces();
    if (i >= input.length) fail("trailing comma");
  }
  return items;
}
