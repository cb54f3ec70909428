using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Funnels.Tests.Faults;

/// <summary>
/// Records what each service instance's start-up migration step says it applied ("Schema {Schema}:
/// applied {Count} migration(s)"), so a test can tell which of two instances did the work.
/// </summary>
public sealed class MigrationLog : ILoggerProvider
{
    private readonly ConcurrentQueue<(string Schema, int Count)> _applied = new();

    public IReadOnlyList<int> AppliedCounts(string schema) => _applied.Where(a => a.Schema == schema).Select(a => a.Count).ToList();

    public ILogger CreateLogger(string categoryName) =>
        categoryName.EndsWith(".SchemaMigrationsAtStartup", StringComparison.Ordinal) ? new Recorder(this) : Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;

    public void Dispose()
    {
    }

    private sealed class Recorder(MigrationLog log) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (state is IReadOnlyList<KeyValuePair<string, object?>> values
                && values.FirstOrDefault(v => v.Key == "Schema").Value is string schema
                && values.FirstOrDefault(v => v.Key == "Count").Value is int count)
            {
                log._applied.Enqueue((schema, count));
            }
        }
    }
}
