namespace MaaS.Updater.Storage;

/// <summary>Tables of progressive rollouts (state, steps, traffic windows).</summary>
public static class RolloutSchema
{
    /// <summary>
    /// Migration 5 (applied once, in order; never edit after it shipped, add a new one).
    /// rollouts: one row per rollout with everything the driver needs to resume after a restart (state, step,
    /// when the step began, the plan as protobuf JSON, the pool) and whether the registry already has the
    /// deployment of the current state (applied); at most one running rollout per model (partial unique index).
    /// rollout_traffic: what the gateways observed per rollout, step and version (counts and the latency
    /// histogram, added up), so a restart does not forget the evidence of a step. rollout_traffic_events: the
    /// TrafficObserved events already counted, so a redelivered one is not counted twice.
    /// </summary>
    public const string Sql = """
        CREATE TABLE rollouts (
            id TEXT PRIMARY KEY,
            model TEXT NOT NULL,
            champion_version INTEGER NOT NULL,
            challenger_version INTEGER NOT NULL,
            plan_json TEXT NOT NULL,
            state TEXT NOT NULL,
            step INTEGER NOT NULL,
            challenger_percent INTEGER NOT NULL,
            step_started_at TEXT NOT NULL,
            reason TEXT NOT NULL,
            started_at TEXT NOT NULL,
            ended_at TEXT NULL,
            correlation_id TEXT NOT NULL,
            pool TEXT NOT NULL,
            applied INTEGER NOT NULL DEFAULT 0,
            running INTEGER NOT NULL DEFAULT 1);
        CREATE INDEX ix_rollouts_model ON rollouts (model, started_at);
        CREATE UNIQUE INDEX ux_rollouts_running ON rollouts (model) WHERE running = 1;
        CREATE TABLE rollout_traffic (
            rollout_id TEXT NOT NULL,
            step INTEGER NOT NULL,
            version INTEGER NOT NULL,
            requests INTEGER NOT NULL,
            errors INTEGER NOT NULL,
            buckets TEXT NOT NULL,
            shadow_requests INTEGER NOT NULL,
            shadow_errors INTEGER NOT NULL,
            PRIMARY KEY (rollout_id, step, version));
        CREATE TABLE rollout_traffic_events (
            event_id TEXT PRIMARY KEY,
            seen_at TEXT NOT NULL);
        CREATE INDEX ix_rollout_traffic_events_seen ON rollout_traffic_events (seen_at);
        """;
}
