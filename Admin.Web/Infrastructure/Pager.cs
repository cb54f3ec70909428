namespace Funnels.Admin.Infrastructure;

/// <summary>What the shared pager shows: where we are, and how to link to another page.</summary>
public sealed record Pager(int Page, int Pages, long Total, Func<int, string> Link);
