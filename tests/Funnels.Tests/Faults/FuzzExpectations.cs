namespace Funnels.Tests.Faults;

/// <summary>The answer one mutation calls for: a status and, for a 400, the field its problem details must name (by JSON path).</summary>
public sealed record Expect(int Status, string? Field = null)
{
    public override string ToString() => Field is null ? Status.ToString() : $"{Status} naming {Field}";
}

/// <summary>
/// The mutations applied to one request, each breaking one with the answer it calls for (noise,
/// such as unknown fields or a duplicated key, calls for none). A request with several breaks must
/// be answered as one of them asks: which check an endpoint makes first is its own affair.
/// </summary>
public sealed class Mutations : List<string>
{
    public List<Expect> Expected { get; } = [];

    public void Add(string what, int status, string? field = null)
    {
        Add(what);
        Expected.Add(new Expect(status, field));
    }
}
