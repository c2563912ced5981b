using Google.Protobuf.Reflection;
using MaaS.Gateway.Security;

namespace MaaS.Gateway.Tests.Security;

public sealed class ScopeTableTests
{
    public static TheoryData<string> Files => new()
    {
        Inference.GrpcServiceReflection.Descriptor.Name,
        MaaS.Registry.V1.RegistryReflection.Descriptor.Name,
        MaaS.Registry.V1.MarketReflection.Descriptor.Name,
        MaaS.Trainer.V1.TrainerReflection.Descriptor.Name,
        MaaS.Updater.V1.UpdaterReflection.Descriptor.Name,
        MaaS.Gateway.V1.KeysReflection.Descriptor.Name,
        MaaS.Diagnostics.V1.DiagnosticsReflection.Descriptor.Name,
        Grpc.Health.V1.HealthReflection.Descriptor.Name,
    };

    private static readonly FileDescriptor[] Descriptors =
    [
        Inference.GrpcServiceReflection.Descriptor,
        MaaS.Registry.V1.RegistryReflection.Descriptor,
        MaaS.Registry.V1.MarketReflection.Descriptor,
        MaaS.Trainer.V1.TrainerReflection.Descriptor,
        MaaS.Updater.V1.UpdaterReflection.Descriptor,
        MaaS.Gateway.V1.KeysReflection.Descriptor,
        MaaS.Diagnostics.V1.DiagnosticsReflection.Descriptor,
        Grpc.Health.V1.HealthReflection.Descriptor,
    ];

    [Theory]
    [MemberData(nameof(Files))]
    public void Rpcs_EveryRpcOfTheProto_HasAnExplicitEntry(string file)
    {
        var descriptor = Descriptors.Single(d => d.Name == file);
        foreach (var service in descriptor.Services)
        {
            Assert.True(ScopeTable.Rpcs.TryGetValue(service.FullName, out var methods), $"{service.FullName} is not in the scope table.");
            foreach (var method in service.Methods)
            {
                Assert.True(methods.ContainsKey(method.Name), $"{service.FullName}/{method.Name} is not in the scope table.");
            }
        }
    }

    [Theory]
    [InlineData("/inference.GRPCInferenceService/ModelInfer", AccessRequirement.Infer)]
    [InlineData("/inference.GRPCInferenceService/RepositoryModelLoad", AccessRequirement.Admin)]
    [InlineData("/inference.GRPCInferenceService/RepositoryModelUnload", AccessRequirement.Admin)]
    [InlineData("/maas.trainer.v1.TrainerService/ListJobs", AccessRequirement.Train)]
    [InlineData("/maas.registry.v1.RegistryService/ListModels", AccessRequirement.AnyKey)]
    [InlineData("/maas.registry.v1.RegistryService/UploadDataset", AccessRequirement.Train)]
    [InlineData("/maas.registry.v1.RegistryService/SetAlias", AccessRequirement.Admin)]
    [InlineData("/maas.registry.v1.RegistryService/SetDeployment", AccessRequirement.Admin)]
    [InlineData("/maas.registry.v1.RegistryService/DeleteVersion", AccessRequirement.Admin)]
    [InlineData("/maas.registry.v1.MarketService/SearchMarket", AccessRequirement.AnyKey)]
    [InlineData("/maas.registry.v1.MarketService/InstallMarketModel", AccessRequirement.Admin)]
    [InlineData("/maas.updater.v1.UpdaterService/IngestRows", AccessRequirement.Train)]
    [InlineData("/maas.updater.v1.UpdaterService/SetPolicy", AccessRequirement.Admin)]
    [InlineData("/maas.gateway.v1.KeyService/ListKeys", AccessRequirement.Admin)]
    [InlineData("/grpc.health.v1.Health/Check", AccessRequirement.Open)]
    [InlineData("/healthz", AccessRequirement.Open)]
    [InlineData("/livez", AccessRequirement.Open)]
    [InlineData("/v2/health/ready", AccessRequirement.Open)]
    [InlineData("/v2", AccessRequirement.Infer)]
    [InlineData("/v2/models/m/versions/1/infer", AccessRequirement.Infer)]
    [InlineData("/v2/repository/models/m/load", AccessRequirement.Admin)]
    [InlineData("/v2/repository/models/m/UNLOAD/", AccessRequirement.Admin)]
    // Routing ignores case, so a case variant of a listed rpc must not inherit a weaker requirement.
    [InlineData("/inference.GRPCInferenceService/repositorymodelload", AccessRequirement.Admin)]
    [InlineData("/v2x/models", AccessRequirement.Admin)]
    [InlineData("/some.Unknown/Method", AccessRequirement.Admin)]
    public void For_Path_NeedsItsRequirement(string path, AccessRequirement expected) =>
        Assert.Equal(expected, ScopeTable.For(path));

    [Theory]
    [InlineData(ApiScopes.Admin, AccessRequirement.Train, true)]
    [InlineData(ApiScopes.Admin, AccessRequirement.Infer, true)]
    [InlineData(ApiScopes.Infer, AccessRequirement.Infer, true)]
    [InlineData(ApiScopes.Infer, AccessRequirement.AnyKey, true)]
    [InlineData(ApiScopes.Infer, AccessRequirement.Train, false)]
    [InlineData(ApiScopes.Infer | ApiScopes.Train, AccessRequirement.Admin, false)]
    public void Grants_ScopesAgainstRequirement_AdminImpliesAll(ApiScopes scopes, AccessRequirement requirement, bool expected) =>
        Assert.Equal(expected, ApiScopeNames.Grants(scopes, requirement));
}
