using System.Security.Cryptography;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Publishing;

namespace Funnels.AppHost;

/// <summary>The topology's secrets as Aspire parameters: generated on the first run, kept in the AppHost's user secrets.</summary>
internal static class Secrets
{
    /// <summary>A generated secret string (Parameters:&lt;name&gt; sets it instead).</summary>
    public static IResourceBuilder<ParameterResource> AddGeneratedSecret(this IDistributedApplicationBuilder builder, string name) =>
        builder.AddParameter(name, new GenerateParameterDefault { MinLength = 32, Special = false }, secret: true, persist: true);

    /// <summary>A generated AES-256 key: base64 of 32 random bytes (what Secrets:EncryptionKey must be).</summary>
    public static IResourceBuilder<ParameterResource> AddGeneratedKey(this IDistributedApplicationBuilder builder, string name) =>
        builder.AddParameter(name, new RandomKeyDefault(), secret: true, persist: true);

    private sealed class RandomKeyDefault : ParameterDefault
    {
        public override string GetDefaultValue() => Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));

        // A deployment supplies its own key: the manifest asks for the input and proposes nothing.
        public override void WriteToManifest(ManifestPublishingContext context)
        {
        }
    }
}
