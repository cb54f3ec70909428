using Funnels.Admin.Api;

namespace Funnels.Admin.Pages.Runs;

/// <summary>Runs as the shared table shows them, with the names of their flows.</summary>
public sealed record RunRows(IReadOnlyList<Run> Runs, IReadOnlyDictionary<Guid, string> FlowNames)
{
    public string FlowName(Guid id) => FlowNames.TryGetValue(id, out var name) ? name : id.ToString()[..8];
}
