// The CLI side of the feed token routes: typed calls over the admin client.
import type { AdminClient } from '../control/admin-client.js';
import type { AddedFeed, FeedReport } from './feeds-admin.js';

export function addFeed(client: AdminClient, name: string): Promise<AddedFeed> {
  return client.request('POST', '/v1/feeds', { name });
}

export async function listFeeds(client: AdminClient): Promise<FeedReport[]> {
  return (await client.request<{ feeds: FeedReport[] }>('GET', '/v1/feeds')).feeds;
}

export async function removeFeed(client: AdminClient, name: string): Promise<string> {
  const path = `/v1/feeds/${encodeURIComponent(name)}`;
  return (await client.request<{ removed: string }>('DELETE', path)).removed;
}
