/**
 * Text from outside (host names and attributes from the master, reasons, job names, audit fields)
 * made safe for a terminal or a one-line log: control characters — C0 (newline, carriage return,
 * ESC of escape sequences), DEL, C1 (CSI U+009B...), the Unicode line and paragraph separators and
 * the bidi overrides/isolates (they reorder what a terminal shows) — are written as `\uXXXX`. The
 * result is one line that reads the same everywhere, and inside a JSON string it means the same
 * text (JSON reads `\u001b` as ESC), so JSON output stays exact.
 */

/** Every character that can move the cursor, start an escape sequence, or reorder displayed text. */
export const CONTROL_CHARS = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;
const CONTROL_CHARS_G = new RegExp(CONTROL_CHARS.source, 'g');
/** The same without newline and tab (multi-line output keeps its lines). */
const CONTROL_BUT_LINES_G = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

const escape = (c: string): string => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;

/** One line of inert text: every control character as `\uXXXX`. */
export function escapeControls(text: string): string {
  return text.replace(CONTROL_CHARS_G, escape);
}

/** Like escapeControls, but keeps newlines and tabs (for multi-line terminal output). */
export function escapeControlsKeepLines(text: string): string {
  return text.replace(CONTROL_BUT_LINES_G, escape);
}

/** JSON-quoted, with the characters JSON.stringify leaves raw (DEL, C1, U+2028/9, bidi) escaped too. */
export function quoteText(text: string): string {
  return escapeControls(JSON.stringify(text));
}
