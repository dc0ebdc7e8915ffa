/**
 * Redaction of credentials before anything reaches a log line, an error message, an API answer or a
 * hook's environment. One place, so every edge uses the same rule.
 *
 * - URLs with user info (`http://user:pass@master:5050`, `zk://u:p@zk1:2181,zk2:2181/mesos`) keep
 *   their scheme, hosts and path; the user info becomes `***`.
 * - `Authorization:`-style values and `token=`/`secret=`/`password=` pairs in free text are masked.
 */

const URL_USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)([^\s/@'"<>]*)@/gi;
/** Protocol-relative URLs (`//user:pass@host:5050/...`, the form of Mesos's redirect Locations). */
const RELATIVE_USERINFO = /(^|[\s'"(<=,])\/\/([^\s/@'"<>]+)@/g;
const SECRET_PAIR = /\b(authorization|proxy-authorization)(\s*[:=]\s*)(?:(basic|bearer|digest)\s+)?[^\s,'"]+/gi;
const NAMED_SECRET = /\b((?:api[_-]?)?token|secret|password|passwd)(\s*[=:]\s*)[^\s,&'"]+/gi;

/** `scheme://user:pass@host…` → `scheme://***@host…`; text without user info is returned unchanged. */
export function redactUrl(url: string): string {
  return url
    .replace(URL_USERINFO, (_m, scheme: string, info: string) => (info.length ? `${scheme}***@` : `${scheme}@`))
    .replace(RELATIVE_USERINFO, (_m, lead: string) => `${lead}//***@`);
}

/** Masks every credential-looking fragment of free text (URLs with user info, auth headers, name=secret pairs). */
export function redactText(text: string): string {
  return redactUrl(text)
    .replace(SECRET_PAIR, (_m, name: string, sep: string, scheme: string | undefined) => `${name}${sep}${scheme ? `${scheme} ` : ''}***`)
    .replace(NAMED_SECRET, (_m, name: string, sep: string) => `${name}${sep}***`);
}

/** True when the URL carries user info (a password or a user name before `@`). */
export function hasUserInfo(url: string): boolean {
  return redactUrl(url) !== url;
}

/**
 * Masks exact secret values (configured tokens, secrets, passwords) wherever they appear in `text`.
 * Empty and very short values (< 4 characters) are ignored: masking them would mangle ordinary text.
 */
export function maskSecrets(text: string, secrets: ReadonlyArray<string | undefined>): string {
  let out = text;
  for (const s of secrets) {
    if (!s || s.length < 4) continue;
    out = out.split(s).join('***');
  }
  return out;
}
