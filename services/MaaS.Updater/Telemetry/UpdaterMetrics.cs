using MaaS.Contracts;
using MaaS.Updater.V1;
using MassTransit;
using Prometheus;

namespace MaaS.Updater.Telemetry;

/// <summary>
/// The updater's Prometheus metrics (served on Mesh:MetricsPort by ServiceDefaults), per model: rows kept and
/// dropped by ingestion (by reason), retrainings triggered (by rule), gate decisions, and rollout steps,
/// rollbacks and completions. Ingestion is counted by the ingestor; the rest from the events the updater
/// publishes (<see cref="UpdaterEventMetrics"/>), so each decision is counted once, when the broker took it.
/// </summary>
public static class UpdaterMetrics
{
    private static readonly Counter RowsKept = Metrics.CreateCounter("maas_updater_rows_kept_total",
        "Ingested rows kept after cleaning, by model.", new CounterConfiguration { LabelNames = ["model"] });

    private static readonly Counter RowsDropped = Metrics.CreateCounter("maas_updater_rows_dropped_total",
        "Ingested rows dropped by cleaning, by model and reason.", new CounterConfiguration { LabelNames = ["model", "reason"] });

    private static readonly Counter Retrains = Metrics.CreateCounter("maas_updater_retrains_triggered_total",
        "Retrainings started, by model and rule (rows, schedule, drift, feedback, manual).", new CounterConfiguration { LabelNames = ["model", "rule"] });

    private static readonly Counter GateDecisions = Metrics.CreateCounter("maas_updater_gate_decisions_total",
        "Champion/challenger gate decisions, by model and decision (promoted, rejected).", new CounterConfiguration { LabelNames = ["model", "decision"] });

    private static readonly Counter RolloutSteps = Metrics.CreateCounter("maas_updater_rollout_steps_total",
        "Rollout step changes, by model and the state entered (shadow, canary, completed, rolled_back, aborted).",
        new CounterConfiguration { LabelNames = ["model", "state"] });

    private static readonly Counter Rollbacks = Metrics.CreateCounter("maas_updater_rollbacks_total",
        "Rollouts that returned all traffic to the champion, by model.", new CounterConfiguration { LabelNames = ["model"] });

    private static readonly Counter RolloutsCompleted = Metrics.CreateCounter("maas_updater_rollouts_completed_total",
        "Rollouts that reached 100 % and moved production to the challenger, by model.", new CounterConfiguration { LabelNames = ["model"] });

    /// <summary>Counts one ingested batch: its kept rows and its dropped rows by reason.</summary>
    public static void Ingested(string model, IngestReport report)
    {
        if (report.RowsKept > 0) RowsKept.WithLabels(model).Inc(report.RowsKept);
        foreach (var (reason, count) in report.RowsDropped)
        {
            if (count > 0) RowsDropped.WithLabels(model, reason).Inc(count);
        }
    }

    /// <summary>Counts what a published event says the updater decided; other events are ignored.</summary>
    public static void Published(object message)
    {
        switch (message)
        {
            case RetrainTriggered m:
                Retrains.WithLabels(m.ModelName, m.Rule.Length > 0 ? m.Rule : "unknown").Inc();
                break;
            case EvaluationCompleted m:
                GateDecisions.WithLabels(m.ModelName, m.Promoted ? "promoted" : "rejected").Inc();
                break;
            case RolloutStepChanged m:
                RolloutSteps.WithLabels(m.ModelName, m.State.Length > 0 ? m.State : "unknown").Inc();
                break;
            case RolledBack m:
                Rollbacks.WithLabels(m.ModelName).Inc();
                break;
            case RolloutCompleted m:
                RolloutsCompleted.WithLabels(m.ModelName).Inc();
                break;
        }
    }

    /// <summary>Current maas_updater_rows_kept_total of a model (tests, diagnostics).</summary>
    public static double KeptFor(string model) => RowsKept.WithLabels(model).Value;

    /// <summary>Current maas_updater_rows_dropped_total of a model and reason.</summary>
    public static double DroppedFor(string model, string reason) => RowsDropped.WithLabels(model, reason).Value;

    /// <summary>Current maas_updater_rollouts_completed_total of a model.</summary>
    public static double CompletedFor(string model) => RolloutsCompleted.WithLabels(model).Value;

    /// <summary>Current maas_updater_rollbacks_total of a model.</summary>
    public static double RollbacksFor(string model) => Rollbacks.WithLabels(model).Value;

    /// <summary>Current maas_updater_rollout_steps_total of a model and state.</summary>
    public static double StepsFor(string model, string state) => RolloutSteps.WithLabels(model, state).Value;

    /// <summary>Current maas_updater_retrains_triggered_total of a model and rule.</summary>
    public static double RetrainsFor(string model, string rule) => Retrains.WithLabels(model, rule).Value;

    /// <summary>Current maas_updater_gate_decisions_total of a model and decision.</summary>
    public static double GateDecisionsFor(string model, string decision) => GateDecisions.WithLabels(model, decision).Value;
}

/// <summary>
/// Counts the updater's decisions as their events leave (the outbox dispatcher's publishes): no code in
/// the rollout, gate or retraining paths has to know about metrics.
/// </summary>
public sealed class UpdaterEventMetrics : IPublishObserver
{
    /// <inheritdoc />
    public Task PrePublish<T>(PublishContext<T> context) where T : class => Task.CompletedTask;

    /// <inheritdoc />
    public Task PostPublish<T>(PublishContext<T> context) where T : class
    {
        UpdaterMetrics.Published(context.Message);
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task PublishFault<T>(PublishContext<T> context, Exception exception) where T : class => Task.CompletedTask;
}

/// <summary>Registration of the updater's event metrics.</summary>
public static class UpdaterTelemetryExtensions
{
    /// <summary>Adds the publish observer that counts retrainings, gate decisions and rollout steps.</summary>
    public static IServiceCollection AddUpdaterTelemetry(this IServiceCollection services) =>
        services.AddPublishObserver<UpdaterEventMetrics>();
}
