using Grpc.Core;
using MaaS.Contracts;
using MaaS.Registry.V1;
using MaaS.Updater.Rollout;
using MaaS.Updater.V1;

namespace MaaS.Updater.Tests.Rollout;

/// <summary>Progressive rollouts through the updater's rpcs, with the real manager, SQLite file and outbox, a fake registry and a hand-moved clock.</summary>
public sealed class RolloutManagerTests : IDisposable
{
    private readonly RolloutHost host = new();

    public RolloutManagerTests()
    {
        host.Models.AddLinear("m", 1, 2, 1);
        host.Models.AddLinear("m", 2, 3, 1, production: false);
        host.Registry.Add("m", 1, 2, 3);
    }

    private static RolloutPlan Plan(Action<RolloutPlan>? change = null)
    {
        var plan = new RolloutPlan { CanarySteps = { 10, 50, 100 }, BakeSeconds = 10, AutoAdvance = true, MaxErrorRateIncrease = 0.05 };
        change?.Invoke(plan);
        return plan;
    }

    private async Task<V1.Rollout> Start(RolloutPlan? plan = null, long version = 2) =>
        (await host.Client.StartRolloutAsync(new StartRolloutRequest { ModelName = "m", Version = version, Plan = plan ?? Plan(), Reason = "test" })).Rollout;

    public static TheoryData<string, string> BadPlans => new()
    {
        { "steps:", "plan.canary_steps" },
        { "steps:10,10,100", "plan.canary_steps" },
        { "steps:50,10,100", "plan.canary_steps" },
        { "steps:0,100", "plan.canary_steps" },
        { "steps:10,101", "plan.canary_steps" },
        { "steps:10,50", "plan.canary_steps" },
        { "bake:0", "plan.bake_seconds" },
        { "shadow:20,0", "plan.shadow_seconds" },
        { "error:1.5", "plan.max_error_rate_increase" },
        { "error:-0.1", "plan.max_error_rate_increase" },
        { "p99:0.5", "plan.max_p99_ratio" },
        { "min:-1", "plan.min_requests" },
    };

    [Theory]
    [MemberData(nameof(BadPlans))]
    public async Task StartRollout_ImpossiblePlan_InvalidArgumentNamingField(string change, string field)
    {
        var (what, value) = (change.Split(':')[0], change.Split(':')[1]);
        var plan = Plan(p =>
        {
            switch (what)
            {
                case "steps": p.CanarySteps.Clear(); p.CanarySteps.AddRange(value.Split(',', StringSplitOptions.RemoveEmptyEntries).Select(int.Parse)); break;
                case "bake": p.BakeSeconds = int.Parse(value); break;
                case "shadow": p.ShadowPercent = int.Parse(value.Split(',')[0]); p.ShadowSeconds = int.Parse(value.Split(',')[1]); break;
                case "error": p.MaxErrorRateIncrease = double.Parse(value, System.Globalization.CultureInfo.InvariantCulture); break;
                case "p99": p.MaxP99Ratio = double.Parse(value, System.Globalization.CultureInfo.InvariantCulture); break;
                case "min": p.MinRequests = int.Parse(value); break;
            }
        });

        var error = await Assert.ThrowsAsync<RpcException>(() => Start(plan));

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Contains(field, error.Status.Detail);
        Assert.Empty(host.Registry.Deployments);
    }

    [Fact]
    public async Task StartRollout_BakeZeroWithoutAutoAdvance_Accepted()
    {
        var rollout = await Start(Plan(p => { p.BakeSeconds = 0; p.AutoAdvance = false; }));

        Assert.Equal("canary", rollout.State);
    }

    [Fact]
    public async Task StartRollout_UnknownVersion_NotFound()
    {
        var error = await Assert.ThrowsAsync<RpcException>(() => Start(version: 9));

        Assert.Equal(StatusCode.NotFound, error.StatusCode);
    }

    [Fact]
    public async Task StartRollout_ChampionItself_InvalidArgument()
    {
        var error = await Assert.ThrowsAsync<RpcException>(() => Start(version: 1));

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Contains("champion", error.Status.Detail);
    }

    [Fact]
    public async Task StartRollout_ArchivedVersion_FailedPrecondition()
    {
        host.Registry.Archive("m", 2);

        var error = await Assert.ThrowsAsync<RpcException>(() => Start());

        Assert.Equal(StatusCode.FailedPrecondition, error.StatusCode);
    }

    [Fact]
    public async Task StartRollout_SecondWhileOneRuns_FailedPrecondition()
    {
        await Start();

        var error = await Assert.ThrowsAsync<RpcException>(() => Start(version: 3));

        Assert.Equal(StatusCode.FailedPrecondition, error.StatusCode);
        Assert.Contains("one rollout per model", error.Status.Detail);
    }

    [Fact]
    public async Task StartRollout_WithoutPlanAndPolicyPlan_InvalidArgument()
    {
        var error = await Assert.ThrowsAsync<RpcException>(() =>
            host.Client.StartRolloutAsync(new StartRolloutRequest { ModelName = "m", Version = 2 }).ResponseAsync);

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Contains("plan", error.Status.Detail);
    }

    [Fact]
    public async Task StartRollout_WithoutPlan_UsesPolicyPlan()
    {
        await host.Client.SetPolicyAsync(new SetPolicyRequest
        {
            Policy = new Policy { ModelName = "m", HoldoutFraction = 0.2, Rollout = Plan(p => { p.CanarySteps.Clear(); p.CanarySteps.AddRange([25, 100]); }) },
        });

        var rollout = (await host.Client.StartRolloutAsync(new StartRolloutRequest { ModelName = "m", Version = 2 })).Rollout;

        Assert.Equal(25, rollout.ChallengerPercent);
        Assert.Equal("1@default:75,2@default:25", host.Registry.Current("m"));
    }

    [Fact]
    public async Task Rollout_ShadowThenCanaryStepsThenComplete_DeploymentsAndEventsInOrder()
    {
        host.Registry.Preset("m", new DeploymentEntry { Version = 1, Pool = "gpu", Weight = 100 });
        var started = await Start(Plan(p => { p.ShadowPercent = 20; p.ShadowSeconds = 5; }));
        Assert.Equal(("shadow", -1, 0), (started.State, started.Step, started.ChallengerPercent));

        await host.Tick(4);
        Assert.Equal("shadow", (await host.Get()).State);
        await host.Tick(1);
        Assert.Equal(("canary", 0, 10), ((await host.Get()).State, (await host.Get()).Step, (await host.Get()).ChallengerPercent));
        await host.Tick(10);
        await host.Tick(10);
        Assert.Equal(100, (await host.Get()).ChallengerPercent);
        await host.Tick(10);

        var done = await host.Get();
        Assert.Equal("completed", done.State);
        Assert.NotNull(done.EndedAt);
        Assert.Equal(
            ["1@gpu:100 shadow 2:20", "1@gpu:90,2@gpu:10", "1@gpu:50,2@gpu:50", "2@gpu:100"],
            host.Registry.Deployments.Select(FakeDeploymentRegistry.Show));
        Assert.Equal(2, host.Registry.Production("m"));
        Assert.Equal("updater", host.Registry.Deployments[^1].Actor);
        Assert.Equal(["shadow", "canary", "canary", "canary", "completed"], host.Events<RolloutStepChanged>().Select(e => e.State));
        Assert.Equal([0, 10, 50, 100, 100], host.Events<RolloutStepChanged>().Select(e => e.ChallengerPercent));
        var completed = Assert.Single(host.Events<RolloutCompleted>());
        Assert.Equal((1L, 2L), (completed.PreviousVersion, completed.Version));
        var timeline = await host.Timeline();
        Assert.Equal(["rollout_step", "rollout_step", "rollout_step", "rollout_step", "rollout_completed"], timeline.Select(e => e.Kind));
        Assert.Equal("50", timeline[2].Details["challenger_percent"]);
        Assert.All(timeline, e => Assert.Equal(started.Id, e.Details["rollout_id"]));
    }

    [Fact]
    public async Task Rollout_ChallengerErrorRateTooHigh_RolledBackAtOnceWithNumbers()
    {
        await Start();
        await host.Tick(2);

        host.Observe(1, requests: 90);
        host.Observe(2, requests: 10, errors: 6);
        await host.Tick(1);

        var rollout = await host.Get();
        Assert.Equal("rolled_back", rollout.State);
        Assert.Contains("error rate", rollout.Reason);
        Assert.Equal("1@default:100", host.Registry.Current("m"));
        Assert.Null(host.Registry.Deployments[^1].Shadow);
        var rolledBack = Assert.Single(host.Events<RolledBack>());
        Assert.Equal("0.6", rolledBack.Details["challenger_error_rate"]);
        Assert.Equal("0", rolledBack.Details["champion_error_rate"]);
        Assert.Equal("10", rolledBack.Details["challenger_requests"]);
        Assert.Equal("rolled_back", host.Events<RolloutStepChanged>()[^1].State);
        var entry = (await host.Timeline())[^1];
        Assert.Equal("rolled_back", entry.Kind);
        Assert.Equal("6", entry.Details["challenger_errors"]);
    }

    [Fact]
    public async Task Rollout_ErrorsWithinBound_Advances()
    {
        await Start(Plan(p => p.MaxErrorRateIncrease = 0.2));
        host.Observe(1, requests: 90, errors: 9);
        host.Observe(2, requests: 10, errors: 2);

        await host.Tick(10);

        Assert.Equal(("canary", 1), ((await host.Get()).State, (await host.Get()).Step));
    }

    [Fact]
    public async Task Rollout_ChallengerP99TooSlow_RolledBackOnceBothHaveMinRequests()
    {
        await Start(Plan(p => { p.MaxP99Ratio = 2; p.MinRequests = 20; }));
        host.Observe(1, requests: 100, latencyMs: 0.8);
        host.Observe(2, requests: 10, latencyMs: 40);
        await host.Tick(1);
        Assert.Equal("canary", (await host.Get()).State);

        host.Observe(2, requests: 10, latencyMs: 40);
        await host.Tick(1);

        var rollout = await host.Get();
        Assert.Equal("rolled_back", rollout.State);
        Assert.Contains("p99", rollout.Reason);
        var details = Assert.Single(host.Events<RolledBack>()).Details;
        Assert.True(double.Parse(details["challenger_p99_ms"], System.Globalization.CultureInfo.InvariantCulture) > 25);
        Assert.True(double.Parse(details["champion_p99_ms"], System.Globalization.CultureInfo.InvariantCulture) <= 1);
    }

    [Fact]
    public async Task Rollout_FewerThanMinRequests_StepWaitsThenAdvances()
    {
        await Start(Plan(p => p.MinRequests = 50));
        host.Observe(2, requests: 20);

        await host.Tick(15);
        Assert.Equal(0, (await host.Get()).Step);

        host.Observe(2, requests: 30);
        await host.Tick(1);
        Assert.Equal(1, (await host.Get()).Step);
    }

    [Fact]
    public async Task Rollout_NoMinRequestsWithinTenBakes_RolledBackSayingSo()
    {
        await Start(Plan(p => p.MinRequests = 50));
        host.Observe(2, requests: 5);

        await host.Tick(99);
        Assert.Equal("canary", (await host.Get()).State);
        await host.Tick(1);

        var rollout = await host.Get();
        Assert.Equal("rolled_back", rollout.State);
        Assert.Contains("min_requests", rollout.Reason);
        Assert.Equal("1@default:100", host.Registry.Current("m"));
    }

    [Fact]
    public async Task AbortRollout_Running_AbortedAndChampionTakesAll()
    {
        await Start();
        await host.Tick(10);

        var aborted = (await host.Client.AbortRolloutAsync(new AbortRolloutRequest { ModelName = "m", Reason = "looks odd" })).Rollout;

        Assert.Equal("aborted", aborted.State);
        Assert.Contains("looks odd", aborted.Reason);
        Assert.Equal("1@default:100", host.Registry.Current("m"));
        Assert.Equal(1, host.Registry.Production("m"));
        Assert.Single(host.Events<RolledBack>());
        Assert.Equal("aborted", (await host.Timeline())[^1].Details["state"]);
        var again = await Assert.ThrowsAsync<RpcException>(() => host.Client.AbortRolloutAsync(new AbortRolloutRequest { ModelName = "m" }).ResponseAsync);
        Assert.Equal(StatusCode.FailedPrecondition, again.StatusCode);
        await Start(version: 3);
    }

    [Fact]
    public async Task RolloutRpcs_ModelWithoutRollout_NotFound()
    {
        var get = await Assert.ThrowsAsync<RpcException>(() => host.Get("other"));
        var abort = await Assert.ThrowsAsync<RpcException>(() => host.Client.AbortRolloutAsync(new AbortRolloutRequest { ModelName = "other" }).ResponseAsync);

        Assert.Equal(StatusCode.NotFound, get.StatusCode);
        Assert.Equal(StatusCode.NotFound, abort.StatusCode);
    }

    [Fact]
    public async Task RollbackRollout_Completed_ProductionAndTrafficReturnToFormerChampion()
    {
        await Start(Plan(p => { p.CanarySteps.Clear(); p.CanarySteps.Add(100); p.BakeSeconds = 1; }));
        await host.Tick(1);
        Assert.Equal("completed", (await host.Get()).State);
        Assert.Equal(2, host.Registry.Production("m"));

        var rolledBack = (await host.Client.RollbackRolloutAsync(new RollbackRolloutRequest { ModelName = "m", Reason = "users complain" })).Rollout;

        Assert.Equal("rolled_back", rolledBack.State);
        Assert.Equal(1, host.Registry.Production("m"));
        Assert.Equal("1@default:100", host.Registry.Current("m"));
        Assert.Equal([2L, 1L], host.Registry.AliasMoves.Select(m => m.Version));
        Assert.Contains("users complain", Assert.Single(host.Events<RolledBack>()).Reason);
        var twice = await Assert.ThrowsAsync<RpcException>(() => host.Client.RollbackRolloutAsync(new RollbackRolloutRequest { ModelName = "m" }).ResponseAsync);
        Assert.Equal(StatusCode.FailedPrecondition, twice.StatusCode);
    }

    [Fact]
    public async Task RollbackRollout_Running_FailedPrecondition()
    {
        await Start();

        var error = await Assert.ThrowsAsync<RpcException>(() => host.Client.RollbackRolloutAsync(new RollbackRolloutRequest { ModelName = "m" }).ResponseAsync);

        Assert.Equal(StatusCode.FailedPrecondition, error.StatusCode);
        Assert.Contains("AbortRollout", error.Status.Detail);
    }

    [Fact]
    public async Task AdvanceRollout_ManualPlan_WaitsForBakeThenAdvancesOnRequest()
    {
        await Start(Plan(p => { p.AutoAdvance = false; p.BakeSeconds = 5; }));
        await host.Tick(10);
        Assert.Equal(0, (await host.Get()).Step);

        var advanced = (await host.Client.AdvanceRolloutAsync(new AdvanceRolloutRequest { ModelName = "m" })).Rollout;
        Assert.Equal((1, 50), (advanced.Step, advanced.ChallengerPercent));

        var early = await Assert.ThrowsAsync<RpcException>(() => host.Client.AdvanceRolloutAsync(new AdvanceRolloutRequest { ModelName = "m" }).ResponseAsync);
        Assert.Equal(StatusCode.FailedPrecondition, early.StatusCode);
        Assert.Contains("left", early.Status.Detail);
    }

    [Fact]
    public async Task AdvanceRollout_AutoAdvancePlan_FailedPrecondition()
    {
        await Start();

        var error = await Assert.ThrowsAsync<RpcException>(() => host.Client.AdvanceRolloutAsync(new AdvanceRolloutRequest { ModelName = "m" }).ResponseAsync);

        Assert.Equal(StatusCode.FailedPrecondition, error.StatusCode);
    }

    [Fact]
    public async Task Restart_MidRollout_ResumesAtStoredStepWithItsTraffic()
    {
        await Start(Plan(p => p.MinRequests = 20));
        host.Observe(2, requests: 20);
        await host.Tick(10);
        var before = await host.Get();
        Assert.Equal(1, before.Step);
        host.Observe(1, requests: 50);
        host.Observe(2, requests: 10, errors: 5);

        host.Restart();

        var after = await host.Get();
        Assert.Equal((before.Id, 1, 50, "canary"), (after.Id, after.Step, after.ChallengerPercent, after.State));
        Assert.Equal(before.StepStartedAt, after.StepStartedAt);
        // 10 calls before the restart and 10 after: only together do they reach min_requests and fail the step.
        host.Observe(2, requests: 10, errors: 5);
        await host.Tick(1);
        Assert.Equal("rolled_back", (await host.Get()).State);
    }

    [Fact]
    public async Task Restart_StepTimeKeepsRunning_AdvancesOnFirstTick()
    {
        await Start();
        await host.Tick(6);

        host.Restart();
        await host.Tick(4);

        Assert.Equal(1, (await host.Get()).Step);
    }

    [Fact]
    public async Task Observe_WindowBeforeStepOrRedelivered_NotCounted()
    {
        await Start(Plan(p => p.MinRequests = 10));
        var manager = host.Manager;
        var old = new TrafficObserved
        {
            ModelName = "m", Version = 2, WindowStart = host.Clock.Now.AddSeconds(-2), WindowEnd = host.Clock.Now.AddSeconds(-1),
            Requests = 10, Errors = 10, LatencyBuckets = new long[TrafficTally.BucketCount],
        };
        var fresh = old with { EventId = Guid.NewGuid(), WindowStart = host.Clock.Now, WindowEnd = host.Clock.Now.AddSeconds(1), Errors = 0 };

        Assert.False(manager.Observe(old));
        Assert.True(manager.Observe(fresh));
        Assert.False(manager.Observe(fresh));
        Assert.False(manager.Observe(fresh with { EventId = Guid.NewGuid(), Version = 7 }));
        await host.Tick(10);

        Assert.Equal(1, (await host.Get()).Step);
    }

    [Fact]
    public async Task Rollback_RegistryAway_StoredAtOnceAndPushedWhenItReturns()
    {
        await Start();
        host.Registry.Down = true;
        host.Observe(2, requests: 10, errors: 10);

        await host.Tick(1);
        Assert.Equal("rolled_back", (await host.Get()).State);
        Assert.Equal("1@default:90,2@default:10", host.Registry.Current("m"));

        host.Registry.Down = false;
        await host.Tick(0.25);

        Assert.Equal("1@default:100", host.Registry.Current("m"));
    }

    [Fact]
    public async Task Rollback_PendingPushSupersededByNewRollout_NewSplitKept()
    {
        await Start();
        host.Registry.Down = true;
        await host.Client.AbortRolloutAsync(new AbortRolloutRequest { ModelName = "m" });
        host.Registry.Down = false;

        await Start(version: 3);
        await host.Tick(0.25);

        Assert.Equal("1@default:90,3@default:10", host.Registry.Current("m"));
    }

    [Fact]
    public async Task GetUpdateStatus_RolloutRunning_Included()
    {
        var started = await Start();

        var status = await host.Client.GetUpdateStatusAsync(new GetUpdateStatusRequest { ModelName = "m" });

        Assert.Equal(started.Id, status.Rollout.Id);
        Assert.Equal(10, status.Rollout.ChallengerPercent);
    }

    /// <inheritdoc />
    public void Dispose() => host.Dispose();
}
