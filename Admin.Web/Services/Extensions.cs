namespace Funnels.Admin.Services;

internal static class Extensions
{
    public static void AddApplicationServices(this IHostApplicationBuilder builder)
    {
        builder.Services.AddRazorPages();

        // The services Admin.Web talks to, by their AppHost resource names: service discovery
        // resolves http://runtime-api from services__runtime-api__http__0.
        foreach (var service in ServiceStatus.Services)
        {
            builder.Services.AddHttpClient(service, client => client.BaseAddress = new Uri($"http://{service}"));
        }
        builder.Services.AddScoped<ServiceStatus>();
    }
}
