namespace Funnels.AppHost.Hosting;

/// <summary>
/// Something on the machine is not ready for the topology (a busy port, a missing binary,
/// an unbuilt service). The message is one line that says what to do; the AppHost prints
/// it without a stack trace, because the fix is on the machine, not in the code.
/// </summary>
public sealed class SetupException(string message) : Exception(message);

/// <summary>
/// A resource started but did not come up (crashed, or not ready in time). The message
/// names the resource and ends with the tail of its console output, which is where the
/// reason usually is.
/// </summary>
public sealed class ResourceStartException(string resource, string message, IReadOnlyList<string> logTail)
    : Exception(Compose(resource, message, logTail))
{
    public string Resource { get; } = resource;

    private static string Compose(string resource, string message, IReadOnlyList<string> logTail) =>
        logTail.Count == 0
            ? $"{resource}: {message}"
            : $"{resource}: {message}; last lines of its output:{Environment.NewLine}  "
              + string.Join(Environment.NewLine + "  ", logTail);
}
