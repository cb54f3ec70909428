namespace Funnels.AppHost.Hosting;

/// <summary>
/// The last lines a resource printed: kept in memory for the dashboard and for error
/// messages, and optionally copied to a log file and to AppHost's console.
/// </summary>
public sealed class LogTail : IDisposable
{
    private readonly Queue<string> lines = new();
    private readonly int capacity;
    private readonly Lock gate = new();
    private StreamWriter? file;
    private TextWriter? echo;
    private string echoPrefix = "";

    public LogTail(int capacity = 500) => this.capacity = Math.Max(1, capacity);

    public void Append(string line)
    {
        lock (gate)
        {
            lines.Enqueue(line);
            while (lines.Count > capacity)
            {
                lines.Dequeue();
            }

            file?.WriteLine(line);
            echo?.WriteLine(echoPrefix + line);
        }
    }

    /// <summary>The most recent lines, oldest first.</summary>
    public IReadOnlyList<string> Tail(int count = int.MaxValue)
    {
        lock (gate)
        {
            return lines.Skip(Math.Max(0, lines.Count - count)).ToArray();
        }
    }

    internal void CopyToFile(string path)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        lock (gate)
        {
            file ??= new StreamWriter(new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite)) { AutoFlush = true };
        }
    }

    internal void EchoTo(TextWriter writer, string prefix)
    {
        lock (gate)
        {
            echo = writer;
            echoPrefix = prefix;
        }
    }

    public void Dispose()
    {
        lock (gate)
        {
            file?.Dispose();
            file = null;
            echo = null;
        }
    }
}
