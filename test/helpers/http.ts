/** Small fetch wrappers for black-box tests against a real server. */

export interface Answer {
  status: number;
  headers: Headers;
  text: string;
  json: any;
}

export async function call(
  method: string,
  url: string,
  body?: string | Buffer | Uint8Array,
  headers: Record<string, string> = {},
): Promise<Answer> {
  const response = await fetch(url, { method, body: body as BodyInit | undefined, headers });
  const text = await response.text();
  let json: any;
  try {
    json = text === '' ? undefined : JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, headers: response.headers, text, json };
}

/** Asserts-friendly view of a FabricError answer: `status code`. */
export function errorOf(answer: Answer): string {
  return `${answer.status} ${answer.json?.Error?.Code}`;
}
