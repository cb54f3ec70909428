using System.Reflection;
using System.Text;

namespace Funnels.Tests.Foundation;

/// <summary>
/// Migrations held in memory, shaped as the embedded resources SchemaMigrator reads
/// (<c>X.Migrations.0001_title.sql</c>): a test can give the runner a migration that fails
/// after an earlier one succeeded, which this assembly's own two cannot.
/// </summary>
public sealed class MigrationSet(params (string Name, string Sql)[] migrations) : Assembly
{
    public override string[] GetManifestResourceNames() => migrations.Select(m => $"Tests.Migrations.{m.Name}.sql").ToArray();

    public override Stream? GetManifestResourceStream(string name) =>
        migrations.Where(m => $"Tests.Migrations.{m.Name}.sql" == name)
            .Select(m => (Stream)new MemoryStream(Encoding.UTF8.GetBytes(m.Sql)))
            .FirstOrDefault();
}
