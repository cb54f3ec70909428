namespace Funnels.Tests.Infrastructure;

/// <summary>
/// Waits for an asynchronous effect (a message handled, a row written), bounded in time. The bound
/// is a limit, not an expectation: a busy machine can take many times what a quiet one does, so no
/// bound is shorter than <see cref="Floor"/>; a generous bound costs time only when the test fails anyway.
/// </summary>
public static class Eventually
{
    public static readonly TimeSpan Floor = TimeSpan.FromSeconds(60);

    public static Task<T> Until<T>(Func<Task<T?>> probe, TimeSpan timeout, string what) => Until(probe, timeout, () => what);

    /// <param name="what">What was awaited, asked for only on timeout (so it can say what was last seen).</param>
    public static async Task<T> Until<T>(Func<Task<T?>> probe, TimeSpan timeout, Func<string> what)
    {
        var bound = timeout < Floor ? Floor : timeout;
        var deadline = DateTime.UtcNow + bound;
        while (true)
        {
            var value = await probe();
            if (value is not null)
            {
                return value;
            }
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Timed out after {bound.TotalSeconds:0} s waiting for {what()}.");
            }
            await Task.Delay(100, TestContext.Current.CancellationToken);
        }
    }
}
