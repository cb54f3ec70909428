namespace Funnels.Tests.Infrastructure;

/// <summary>Waits for a due time to pass on the database's clock, the clock the services' due times are stored and compared against.</summary>
public static class DueTimes
{
    /// <summary>Returns once the database's clock is past <paramref name="due"/> (a UTC time read from the database).</summary>
    public static async Task PastAsync(this Servers servers, DateTime due, string what)
    {
        var utc = DateTime.SpecifyKind(due, DateTimeKind.Utc);
        var left = utc - DateTime.UtcNow;
        await Eventually.Until(async () => await servers.ScalarAsync<bool>("SELECT clock_timestamp() > @utc", new { utc }) ? (bool?)true : null,
            (left > TimeSpan.Zero ? left : TimeSpan.Zero) + Eventually.Floor, $"the database's clock to pass {utc:O} ({what})");
    }
}
