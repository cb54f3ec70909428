namespace Funnels.AppHost.Hosting;

/// <summary>Files holding a secret (a password in a server's config): readable and writable by their owner only.</summary>
internal static class OwnerOnlyFile
{
    private const UnixFileMode OwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    public static async Task WriteAllTextAsync(string path, string contents, CancellationToken cancellationToken)
    {
        await using (var writer = new StreamWriter(Open(path)))
        {
            await writer.WriteAsync(contents.AsMemory(), cancellationToken);
        }
        Narrow(path);
    }

    public static void WriteAllText(string path, string contents)
    {
        using (var writer = new StreamWriter(Open(path)))
        {
            writer.Write(contents);
        }
        Narrow(path);
    }

    // Created with the mode (never world-readable, not even for a moment)...
    private static FileStream Open(string path)
    {
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = OwnerOnly;
        return new FileStream(path, options);
    }

    // ...and narrowed if it already existed with a wider one.
    private static void Narrow(string path)
    {
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(path, OwnerOnly);
    }
}
