namespace Funnels.AppHost.Servers;

/// <summary>The servers' data folders under Funnels:DataRoot (default <c>&lt;repository&gt;/.data</c>).</summary>
internal static class ServerFolders
{
    /// <summary>
    /// DCP starts a process in its working folder, so the folder must exist before the run.
    /// The data root is made traversable: PostgreSQL runs as the postgres user when AppHost is root.
    /// </summary>
    public static string Create(string folder)
    {
        var path = Directory.CreateDirectory(folder).FullName;
        if (!OperatingSystem.IsWindows() && Path.GetDirectoryName(path) is { } root)
        {
            File.SetUnixFileMode(root, File.GetUnixFileMode(root) | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute);
        }
        return path;
    }
}
