namespace Funnels.ServiceDefaults.Web;

/// <summary>Every admin list is paged: page numbers from 1, at most 200 rows a page.</summary>
public sealed record Paging(int Page, int PageSize)
{
    public int Limit => PageSize;
    public int Offset => (Page - 1) * PageSize;

    public static Paging From(int? page, int? pageSize) =>
        new(Math.Max(1, page ?? 1), Math.Clamp(pageSize ?? 50, 1, 200));

    public PagedList<T> Of<T>(IReadOnlyList<T> items, long total) => new(items, Page, PageSize, total);
}

public sealed record PagedList<T>(IReadOnlyList<T> Items, int Page, int PageSize, long Total);
