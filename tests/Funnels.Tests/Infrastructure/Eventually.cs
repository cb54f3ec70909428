namespace Funnels.Tests.Infrastructure;

/// <summary>Waits for an asynchronous effect (a message handled, a row written), bounded in time.</summary>
public static class Eventually
{
    public static async Task<T> Until<T>(Func<Task<T?>> probe, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var value = await probe();
            if (value is not null)
            {
                return value;
            }
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Timed out after {timeout.TotalSeconds:0} s waiting for {what}.");
            }
            await Task.Delay(100, TestContext.Current.CancellationToken);
        }
    }
}
