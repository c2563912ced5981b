using MaaS.Registry.V1;

namespace MaaS.ServiceDefaults.Registry;

/// <summary>Whole listings from the registry, whose list rpcs answer in pages of at most 500.</summary>
public static class RegistryClientExtensions
{
    /// <summary>Every model, following next_page_token; each page gets its own deadline.</summary>
    public static async Task<List<Model>> ListAllModelsAsync(this RegistryService.RegistryServiceClient client, TimeSpan perPage, CancellationToken ct)
    {
        var all = new List<Model>();
        var request = new ListModelsRequest();
        do
        {
            var page = await client.ListModelsAsync(request, deadline: DateTime.UtcNow + perPage, cancellationToken: ct);
            all.AddRange(page.Models);
            request.PageToken = page.NextPageToken;
        }
        while (request.PageToken.Length > 0);
        return all;
    }

    /// <summary>Every version of a model, oldest first, following next_page_token.</summary>
    public static async Task<List<ModelVersion>> ListAllVersionsAsync(
        this RegistryService.RegistryServiceClient client, string model, TimeSpan perPage, CancellationToken ct)
    {
        var all = new List<ModelVersion>();
        var request = new ListVersionsRequest { ModelName = model };
        do
        {
            var page = await client.ListVersionsAsync(request, deadline: DateTime.UtcNow + perPage, cancellationToken: ct);
            all.AddRange(page.Versions);
            request.PageToken = page.NextPageToken;
        }
        while (request.PageToken.Length > 0);
        return all;
    }
}
