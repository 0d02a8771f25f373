// Go's r.FormValue / r.Form semantics for the API: a url-encoded POST/PUT/PATCH body first, then the URL's
// query string; repeated keys keep all values in that order.
import type { FastifyRequest } from 'fastify';

export class Form {
  private readonly values = new Map<string, string[]>();

  add(params: URLSearchParams): void {
    for (const [k, v] of params) {
      const list = this.values.get(k);
      if (list === undefined) this.values.set(k, [v]);
      else list.push(v);
    }
  }

  /** The first value, or undefined (Go's FormValue gives "" for both; callers treat "" as absent). */
  get(name: string): string | undefined {
    return this.values.get(name)?.[0];
  }

  getAll(name: string): string[] {
    return this.values.get(name) ?? [];
  }
}

/** Marks a body parsed from `application/x-www-form-urlencoded`. */
export class FormBody {
  constructor(readonly params: URLSearchParams) {}
}

export function requestForm(req: FastifyRequest): Form {
  const form = new Form();
  if (req.body instanceof FormBody) form.add(req.body.params);
  const url = req.raw.url ?? '';
  const q = url.indexOf('?');
  if (q >= 0) form.add(new URLSearchParams(url.slice(q + 1)));
  return form;
}
