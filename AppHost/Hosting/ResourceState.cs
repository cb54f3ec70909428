namespace Funnels.AppHost.Hosting;

public enum ResourceState
{
    /// <summary>Declared, not started yet.</summary>
    NotStarted,
    /// <summary>Waiting for the resources it WaitFor()s to become healthy.</summary>
    Waiting,
    /// <summary>Preparing its folder (initdb, config files) or spawning.</summary>
    Starting,
    /// <summary>The process lives but has not answered its readiness or health check yet.</summary>
    Running,
    Healthy,
    /// <summary>A project that was healthy and now fails its /health check.</summary>
    Unhealthy,
    /// <summary>Ended on its own; see ExitCode. Projects are restarted with back-off.</summary>
    Exited,
    Stopping,
    /// <summary>Stopped on purpose (app shutdown or StopResourceAsync).</summary>
    Stopped,
    FailedToStart,
}
