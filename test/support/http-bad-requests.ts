// Bad API requests with the status and error text Prometheus 2.42 answers (shared by the API tests).

/** Percent-encodes the characters fetch would refuse or reinterpret in these URLs. */
export function encodeBad(url: string): string {
  return url.replace(/\{|\}|\[|\]|"|\\|\||\^/g, (c) => encodeURIComponent(c));
}

// Each entry: a request, the status and the error text Prometheus 2.42 answered for it.
export const BAD: [string, number, string][] = [
  [
    '/api/v1/query?query=up&time=abc',
    400,
    `invalid parameter "time": Invalid time value for 'time': cannot parse "abc" to a valid timestamp`,
  ],
  [
    '/api/v1/query?query=up{',
    400,
    'invalid parameter "query": 1:4: parse error: unexpected end of input inside braces',
  ],
  [
    '/api/v1/query?query=up&timeout=x',
    400,
    'invalid parameter "timeout": cannot parse "x" to a valid duration',
  ],
  ['/api/v1/query', 400, 'invalid parameter "query": 1:1: parse error: no expression found in input'],
  ['/api/v1/query?query=__fail__', 422, 'found duplicate series for the match group'],
  [
    '/api/v1/query_range?query=up{&start=0&end=10&step=1',
    400,
    '1:4: parse error: unexpected end of input inside braces',
  ],
  [
    '/api/v1/query_range?query=up&start=0&end=100000&step=1',
    400,
    'exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)',
  ],
  [
    '/api/v1/query_range?query=up&start=0&end=10&step=0',
    400,
    'invalid parameter "step": zero or negative query resolution step widths are not accepted. Try a positive integer',
  ],
  [
    '/api/v1/query_range?query=up&start=0&end=10&step=-5',
    400,
    'invalid parameter "step": zero or negative query resolution step widths are not accepted. Try a positive integer',
  ],
  [
    '/api/v1/query_range?query=up&start=0&end=10&step=x',
    400,
    'invalid parameter "step": cannot parse "x" to a valid duration',
  ],
  [
    '/api/v1/query_range?query=up&start=0&end=10&step=1h1d',
    400,
    'invalid parameter "step": cannot parse "1h1d" to a valid duration',
  ],
  [
    '/api/v1/query_range?query=up&start=0&end=10',
    400,
    'invalid parameter "step": cannot parse "" to a valid duration',
  ],
  [
    '/api/v1/query_range?query=up&start=10&end=0&step=1',
    400,
    'invalid parameter "end": end timestamp must not be before start time',
  ],
  [
    '/api/v1/query_range?query=up&end=0&step=1',
    400,
    'invalid parameter "start": cannot parse "" to a valid timestamp',
  ],
  [
    '/api/v1/query_range?query=up&start=0&step=1',
    400,
    'invalid parameter "end": cannot parse "" to a valid timestamp',
  ],
  [
    '/api/v1/query_range?query=up&start=x&end=1&step=1',
    400,
    'invalid parameter "start": cannot parse "x" to a valid timestamp',
  ],
  [
    '/api/v1/query_range?query=up&start=0&end=2023-13-01T00:00:00Z&step=1',
    400,
    'invalid parameter "end": cannot parse "2023-13-01T00:00:00Z" to a valid timestamp',
  ],
  [
    '/api/v1/query_range?query=up&start=0&end=10&step=1&timeout=1x',
    400,
    'invalid parameter "timeout": cannot parse "1x" to a valid duration',
  ],
  [
    '/api/v1/query_range?query=__fail__&start=0&end=10&step=1',
    422,
    'found duplicate series for the match group',
  ],
  ['/api/v1/series', 400, 'no match[] parameter provided'],
  [
    '/api/v1/series?match[]={',
    400,
    'invalid parameter "match[]": 1:2: parse error: unexpected end of input inside braces',
  ],
  [
    '/api/v1/series?match[]={a=~".*"}',
    400,
    'invalid parameter "match[]": match[] must contain at least one non-empty matcher',
  ],
  [
    '/api/v1/series?match[]={}',
    400,
    'invalid parameter "match[]": match[] must contain at least one non-empty matcher',
  ],
  [
    '/api/v1/series?match[]=up{a="b"}[5m]',
    400,
    'invalid parameter "match[]": 1:10: parse error: unexpected "["',
  ],
  ['/api/v1/series?match[]=sum(up)', 400, 'invalid parameter "match[]": 1:4: parse error: unexpected "("'],
  [
    '/api/v1/series?match[]=up{a="\\q"}',
    400,
    `invalid parameter "match[]": 1:6: parse error: unknown escape sequence U+0071 'q'`,
  ],
  [
    '/api/v1/series?match[]=up{a="b}',
    400,
    'invalid parameter "match[]": 1:6: parse error: unterminated quoted string',
  ],
  [
    '/api/v1/series?match[]=up{a!}',
    400,
    `invalid parameter "match[]": 1:5: parse error: unexpected character after '!' inside braces: '}'`,
  ],
  [
    '/api/v1/series?match[]=up{1a="b"}',
    400,
    `invalid parameter "match[]": 1:4: parse error: unexpected character inside braces: '1'`,
  ],
  ['/api/v1/series?match[]=1', 400, 'invalid parameter "match[]": 1:1: parse error: unexpected number "1"'],
  [
    '/api/v1/series?match[]=up&start=x',
    400,
    `invalid parameter "start": Invalid time value for 'start': cannot parse "x" to a valid timestamp`,
  ],
  [
    '/api/v1/series?match[]=up&end=x',
    400,
    `invalid parameter "end": Invalid time value for 'end': cannot parse "x" to a valid timestamp`,
  ],
  [
    '/api/v1/series?match[]=up&match[]={',
    400,
    'invalid parameter "match[]": 1:2: parse error: unexpected end of input inside braces',
  ],
  ['/api/v1/labels?match[]=up{', 400, '1:4: parse error: unexpected end of input inside braces'],
  [
    '/api/v1/labels?start=x',
    400,
    `invalid parameter "start": Invalid time value for 'start': cannot parse "x" to a valid timestamp`,
  ],
  [
    '/api/v1/labels?end=1e400',
    400,
    `invalid parameter "end": Invalid time value for 'end': cannot parse "1e400" to a valid timestamp`,
  ],
  ['/api/v1/label/a-b/values', 400, 'invalid label name: "a-b"'],
  ['/api/v1/label/1a/values', 400, 'invalid label name: "1a"'],
  ['/api/v1/label/job/values?match[]=up{', 400, '1:4: parse error: unexpected end of input inside braces'],
  [
    '/api/v1/label/job/values?start=x',
    400,
    `invalid parameter "start": Invalid time value for 'start': cannot parse "x" to a valid timestamp`,
  ],
  ['/api/v1/metadata?limit=x', 400, 'limit must be a number'],
  ['/api/v1/targets/metadata?limit=x', 400, 'limit must be a number'],
  [
    '/api/v1/targets/metadata?match_target={',
    400,
    'invalid parameter "match_target": 1:2: parse error: unexpected end of input inside braces',
  ],
  [
    '/api/v1/query_exemplars?query=up&start=x',
    400,
    `invalid parameter "start": Invalid time value for 'start': cannot parse "x" to a valid timestamp`,
  ],
  [
    '/api/v1/query_exemplars?query=up&start=10&end=1',
    400,
    'end timestamp must not be before start timestamp',
  ],
  ['/api/v1/query_exemplars', 400, '1:1: parse error: no expression found in input'],
];
