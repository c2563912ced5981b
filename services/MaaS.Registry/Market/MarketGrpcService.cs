using Grpc.Core;
using MaaS.Registry.V1;
using MaaS.Registry.Validation;
using MaaS.ServiceDefaults;

namespace MaaS.Registry.Market;

/// <summary>The market's gRPC API (maas.registry.v1.MarketService).</summary>
public sealed class MarketGrpcService(MarketCatalog catalog, MarketInstaller installer) : MarketService.MarketServiceBase
{
    // The listing name inside page tokens, so a token of another listing is refused.
    private const string TokenKind = "market";

    /// <inheritdoc />
    public override Task<SearchMarketResponse> SearchMarket(SearchMarketRequest request, ServerCallContext context)
    {
        RequestRules.MaxLength("text", request.Text, RequestRules.MaxShortTextLength);
        RequestRules.MaxLength("task", request.Task, RequestRules.MaxShortTextLength);
        RequestRules.MaxLength("tag", request.Tag, RequestRules.MaxShortTextLength);
        if (!Enum.IsDefined(request.Kind))
        {
            throw MeshErrors.InvalidArgument(
                $"kind must be MARKET_ENTRY_KIND_UNSPECIFIED (any), MARKET_ENTRY_KIND_MODEL or MARKET_ENTRY_KIND_TEMPLATE; it is {(int)request.Kind}.");
        }
        var pageSize = RequestRules.PageSize("page_size", request.PageSize);
        // The catalog is fixed while the service runs and ordered by name, so "after this name" is a stable position.
        var after = PageTokens.DecodeName("page_token", request.PageToken, TokenKind);
        var page = catalog.Search(request.Text.Trim(), request.Task.Trim(), request.Tag.Trim(), request.Kind, pageSize,
            after.Length == 0 ? null : after);
        var response = new SearchMarketResponse
        {
            NextPageToken = page.NextAfter is null ? "" : PageTokens.Encode(TokenKind, page.NextAfter),
            TotalSize = page.Total,
        };
        response.Entries.AddRange(page.Entries.Select(e => e.Summary()));
        return Task.FromResult(response);
    }

    /// <inheritdoc />
    public override Task<GetMarketEntryResponse> GetMarketEntry(GetMarketEntryRequest request, ServerCallContext context)
    {
        RequestRules.Name("name", request.Name);
        var entry = catalog.Find(request.Name) ?? throw EntryNotFound(request.Name);
        return Task.FromResult(new GetMarketEntryResponse { Entry = entry.Card.Clone() });
    }

    /// <inheritdoc />
    public override async Task<InstallMarketModelResponse> InstallMarketModel(InstallMarketModelRequest request, ServerCallContext context)
    {
        RequestRules.Name("entry_name", request.EntryName);
        var modelName = request.ModelName.Length == 0 ? request.EntryName : request.ModelName;
        RequestRules.Name("model_name", modelName);
        RequestRules.MaxLength("actor", request.Actor, RequestRules.MaxShortTextLength);
        var entry = catalog.Find(request.EntryName) ?? throw EntryNotFound(request.EntryName);
        if (entry.Kind != MarketEntryKind.Model)
        {
            throw MeshErrors.FailedPrecondition(
                $"'{entry.Name}' is a template: templates are trained, not installed: submit a training job with its spec.");
        }
        return await installer.InstallAsync(entry, modelName, request.Deploy, request.Actor, context.CancellationToken);
    }

    private static RpcException EntryNotFound(string name) =>
        MeshErrors.NotFound($"The market has no entry '{name}'; SearchMarket lists its entries.");
}
