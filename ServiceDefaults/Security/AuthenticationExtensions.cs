using System.Text;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.IdentityModel.Tokens;

namespace Funnels.ServiceDefaults.Security;

public static class AuthenticationExtensions
{
    /// <summary>Any signed-in member of the workspace: reads.</summary>
    public const string AdminPolicy = "admin";

    /// <summary>Owners and editors: changes to funnels, flows, campaigns, webhooks.</summary>
    public const string EditorPolicy = "editor";

    /// <summary>Owners: members, API keys, secrets.</summary>
    public const string OwnerPolicy = "owner";

    /// <summary>Owners of the operator workspace: install-wide concerns such as dead letters.</summary>
    public const string OperatorPolicy = "operator";

    /// <summary>
    /// Admin endpoints of every service accept the same bearer tokens (HS256, signed with the
    /// key in configuration "Auth:SigningKey"; AppHost generates one and keeps it in its secrets).
    /// </summary>
    public static IHostApplicationBuilder AddFunnelsAuthentication(this IHostApplicationBuilder builder)
    {
        var settings = AuthSettings.From(builder.Configuration);
        builder.Services.AddSingleton(settings);
        builder.Services.AddSingleton<AdminTokens>();
        // Each request's token is checked against its session or key (Runtime.Api's rows; TokenRevocation).
        builder.Services.AddTokenRevocation();

        builder.Services.AddAuthentication(JwtBearerDefaults.AuthenticationScheme)
            .AddJwtBearer(options =>
            {
                options.MapInboundClaims = false;
                options.TokenValidationParameters = new TokenValidationParameters
                {
                    ValidIssuer = settings.Issuer,
                    ValidAudience = settings.Audience,
                    IssuerSigningKey = settings.SigningKey(),
                    NameClaimType = "sub",
                    RoleClaimType = "role",
                    ClockSkew = TimeSpan.FromSeconds(30),
                };
                options.Events = new JwtBearerEvents
                {
                    OnTokenValidated = context => context.HttpContext.RequestServices.GetRequiredService<TokenRevocation>().ValidateAsync(context),
                };
            });
        builder.Services.AddAuthorizationBuilder()
            // Every authenticated principal has passed TokenShape.Read (workspace, known role, session).
            .AddPolicy(AdminPolicy, policy => policy.RequireAuthenticatedUser().RequireClaim(WorkspaceClaims.WorkspaceId))
            .AddPolicy(EditorPolicy, policy => policy.RequireAuthenticatedUser().RequireClaim(WorkspaceClaims.Role, Roles.Owner, Roles.Editor))
            .AddPolicy(OwnerPolicy, policy => policy.RequireAuthenticatedUser().RequireClaim(WorkspaceClaims.Role, Roles.Owner))
            .AddPolicy(OperatorPolicy, policy => policy.RequireAuthenticatedUser().RequireClaim(WorkspaceClaims.Role, Roles.Owner)
                .RequireClaim(WorkspaceClaims.WorkspaceId, WorkspaceClaims.OperatorWorkspaceId.ToString()));
        return builder;
    }
}

public sealed class AuthSettings
{
    public required string Key { get; init; }
    public string Issuer { get; init; } = "funnels";
    public string Audience { get; init; } = "funnels";

    /// <summary>"Auth:ClientAddressKey": the secret Admin.Web signs the browser's address with (ClientAddress); unset: never trusted.</summary>
    public string? ClientAddressKey { get; init; }

    public SymmetricSecurityKey SigningKey() => new(Encoding.UTF8.GetBytes(Key));

    public static AuthSettings From(IConfiguration configuration)
    {
        var key = configuration["Auth:SigningKey"];
        if (string.IsNullOrWhiteSpace(key) || Encoding.UTF8.GetByteCount(key) < 32)
        {
            throw new InvalidOperationException(
                "Auth:SigningKey is missing or shorter than 32 bytes: set Auth__SigningKey (AppHost generates one).");
        }
        return new AuthSettings
        {
            Key = key,
            Issuer = configuration["Auth:Issuer"] ?? "funnels",
            Audience = configuration["Auth:Audience"] ?? "funnels",
            ClientAddressKey = configuration[ClientAddress.KeySetting] is { Length: >= 32 } clientAddressKey ? clientAddressKey : null,
        };
    }
}
