using System.Text.Json;
using Funnels.Admin.Api;
using Funnels.Admin.Infrastructure;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Refit;

namespace Funnels.Admin.Services;

internal static class Extensions
{
    public static void AddApplicationServices(this IHostApplicationBuilder builder)
    {
        builder.Services.AddRazorPages(pages =>
        {
            // Every page needs a signed-in admin but the sign-in page itself.
            pages.Conventions.AuthorizeFolder("/");
            pages.Conventions.AllowAnonymousToPage("/Account/SignIn");
            pages.Conventions.AllowAnonymousToPage("/Error");
        }).AddMvcOptions(mvc => mvc.Filters.Add<ApiErrorPageFilter>());

        builder.Services.AddAuthentication(CookieAuthenticationDefaults.AuthenticationScheme)
            .AddCookie(cookie =>
            {
                cookie.LoginPath = "/Account/SignIn";
                cookie.AccessDeniedPath = "/Account/Denied";
                cookie.Cookie.Name = "funnels-admin";
                cookie.Cookie.HttpOnly = true;
                cookie.Cookie.SameSite = SameSiteMode.Strict;
                // Secure whenever the panel is served over HTTPS (behind TLS in production); plain-HTTP local runs keep working.
                cookie.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
                cookie.SlidingExpiration = false;
            });
        builder.Services.AddAuthorizationBuilder()
            .AddPolicy(AdminUser.EditorPolicy, p => p.RequireClaim(AdminUser.Role, "owner", "editor"))
            .AddPolicy(AdminUser.OwnerPolicy, p => p.RequireClaim(AdminUser.Role, "owner"))
            .AddPolicy(AdminUser.OperatorPolicy, p => p.RequireAssertion(c => c.User.IsOperator()));
        builder.Services.AddHttpContextAccessor();
        builder.Services.AddTransient<BearerTokenHandler>();
        builder.Services.AddTransient<ClientAddressHandler>();
        builder.Services.TryAddSingleton(TimeProvider.System);

        // The services Admin.Web talks to, by their AppHost resource names: service discovery
        // resolves http://runtime-api from services__runtime-api__http__0.
        var refit = new RefitSettings(new SystemTextJsonContentSerializer(new JsonSerializerOptions(JsonSerializerDefaults.Web)
        {
            PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        }));
        builder.Services.AddRefitGeneratedClient<IRuntimeApi>(refit).ConfigureHttpClient(c => c.BaseAddress = new Uri("http://runtime-api"))
            .AddHttpMessageHandler<BearerTokenHandler>().AddHttpMessageHandler<ClientAddressHandler>();
        builder.Services.AddRefitGeneratedClient<ITrackingApi>(refit).ConfigureHttpClient(c => c.BaseAddress = new Uri("http://tracking-api"))
            .AddHttpMessageHandler<BearerTokenHandler>();
        builder.Services.AddRefitGeneratedClient<IMessagingApi>(refit).ConfigureHttpClient(c => c.BaseAddress = new Uri("http://messaging-worker"))
            .AddHttpMessageHandler<BearerTokenHandler>();
        builder.Services.AddRefitGeneratedClient<IFlowsApi>(refit).ConfigureHttpClient(c => c.BaseAddress = new Uri("http://messaging-worker"))
            .AddHttpMessageHandler<BearerTokenHandler>();
        builder.Services.AddRefitGeneratedClient<IChannelSendingApi>(refit).ConfigureHttpClient(c => c.BaseAddress = new Uri("http://messaging-worker"))
            .AddHttpMessageHandler<BearerTokenHandler>();

        foreach (var service in ServiceStatus.Services)
        {
            builder.Services.AddHttpClient(service, client => client.BaseAddress = new Uri($"http://{service}"));
        }
        builder.Services.AddScoped<ServiceStatus>();
    }
}
