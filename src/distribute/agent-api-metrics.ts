// The agent API's Prometheus families: agents, streams, messages, nftables documents, feed tokens.
import type { MetricFamily } from '../control/metrics.js';
import type { StreamEnd } from './agent-stream.js';

/** The listener's counters at one moment. */
export interface AgentApiCounters {
  readonly authFailures: number;
  readonly registered: number;
  readonly streamsOpen: number;
  readonly started: { readonly snapshot: number; readonly resume: number };
  readonly ended: ReadonlyMap<StreamEnd, number>;
  readonly messages: number;
  readonly nftRequests: number;
  readonly feedsRegistered: number;
  readonly feedRefused: number;
}

export function agentApiMetrics(c: AgentApiCounters): MetricFamily[] {
  return [
    {
      name: 'fleetban_agent_auth_failures_total',
      help: 'Agent API requests refused for a missing or unknown token.',
      type: 'counter',
      samples: [{ value: c.authFailures }],
    },
    {
      name: 'fleetban_agents_registered',
      help: 'Agents with a token.',
      type: 'gauge',
      samples: [{ value: c.registered }],
    },
    {
      name: 'fleetban_agent_streams_open',
      help: 'Agent streams open now.',
      type: 'gauge',
      samples: [{ value: c.streamsOpen }],
    },
    {
      name: 'fleetban_agent_streams_started_total',
      help: 'Agent streams started, by how they began (full snapshot or resume from the feed).',
      type: 'counter',
      samples: [
        { labels: { start: 'snapshot' }, value: c.started.snapshot },
        { labels: { start: 'resume' }, value: c.started.resume },
      ],
    },
    {
      name: 'fleetban_agent_streams_ended_total',
      help: 'Agent streams ended, by reason (slow = dropped for not reading).',
      type: 'counter',
      samples: [...c.ended].map(([reason, value]) => ({ labels: { reason }, value })),
    },
    {
      name: 'fleetban_agent_messages_sent_total',
      help: 'Stream lines (snapshot, resume, ban, unban, ping) written to agents.',
      type: 'counter',
      samples: [{ value: c.messages }],
    },
    {
      name: 'fleetban_nftables_requests_total',
      help: 'GET /v1/nftables documents served.',
      type: 'counter',
      samples: [{ value: c.nftRequests }],
    },
    {
      name: 'fleetban_feeds_registered',
      help: 'Read-only feed tokens (fleetban feeds add).',
      type: 'gauge',
      samples: [{ value: c.feedsRegistered }],
    },
    {
      name: 'fleetban_feed_token_refused_total',
      help: 'Agent API requests refused (403) for carrying a feed token beyond the two feeds.',
      type: 'counter',
      samples: [{ value: c.feedRefused }],
    },
  ];
}
