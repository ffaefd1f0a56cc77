// Built-in filter for clients that nginx's limit_req rejects (any limit_req_log_level).
import { NGINX_CLIENT, nginxError } from './common.js';
import type { FilterDefinition } from './definition.js';

/**
 * Only "limiting requests" (rejected), not "delaying request" (served late): a delayed client
 * stayed within the burst the admin allowed. Nothing before the client is client text (the zone
 * is the admin's), so the first `client:` is nginx's; the request and Referer after it are not read.
 */
export const nginxLimitReq: FilterDefinition = {
  description: 'nginx: requests rejected by limit_req',
  programs: ['nginx'],
  failregex: [
    String.raw`${nginxError('[a-z]{3,6}')}limiting requests, excess: [\d.]{1,20} by zone "[^"]{1,256}"${NGINX_CLIENT}(?:,|\s*$)`,
  ],
  ignoreregex: [],
};
