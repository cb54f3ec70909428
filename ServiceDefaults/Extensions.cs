using System.Net;
using System.Text.Json;
using Microsoft.Extensions.Http.Resilience;
using Polly;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Funnels.ServiceDefaults.Web;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Scalar.AspNetCore;
using Funnels.ServiceDefaults.Data;

namespace Funnels.ServiceDefaults;

// What every Funnels service shares. Services call AddServiceDefaults() first, then their own
// application services, then MapDefaultEndpoints() after Build(). The conventions are Aspire's,
// so a real Aspire AppHost could start the same services unchanged.
public static class Extensions
{
    public const string LiveTag = "live";

    public static TBuilder AddServiceDefaults<TBuilder>(this TBuilder builder) where TBuilder : IHostApplicationBuilder
    {
        builder.ConfigureOpenTelemetry();
        builder.AddDefaultHealthChecks();

        builder.Services.AddServiceDiscovery();
        // Every IHttpClientFactory client (Admin.Web's calls to the services) gets the standard pipeline.
        // The calls to user-aimed webhooks (OutboundHttp) and to the Graph API (WhatsAppCloudClient,
        // GraphPhoneNumbers) own HttpClients outside the factory on purpose: each of their attempts is a
        // recorded, durable Wolverine retry, and a second retry layer beneath would send a webhook or a
        // WhatsApp message twice.
        builder.Services.ConfigureHttpClientDefaults(http =>
        {
            http.AddStandardResilienceHandler(resilience =>
            {
                // A 429 means "not now": retrying it at once cannot succeed, and waiting out its
                // Retry-After (a minute for sign-in) turned a throttled sign-in into a 500 after the
                // 30 s total timeout. It reaches the caller at once, and does not count as a failure.
                resilience.Retry.ShouldHandle = args => ValueTask.FromResult(IsTransientButNotThrottled(args.Outcome));
                resilience.CircuitBreaker.ShouldHandle = args => ValueTask.FromResult(IsTransientButNotThrottled(args.Outcome));
            });
            http.AddServiceDiscovery();
        });

        // Public and admin JSON is snake_case throughout: the clients that already exist send it.
        builder.Services.ConfigureHttpJsonOptions(json =>
        {
            json.SerializerOptions.PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower;
            json.SerializerOptions.DictionaryKeyPolicy = null;
        });
        builder.Services.AddProblemDetails();
        // A database outage or an exhausted pool is 503 + Retry-After, not a 500 (UseExceptionHandler below).
        builder.Services.AddExceptionHandler<DatabaseUnavailableExceptionHandler>();
        // Binding failures reach the exception handler in every environment (not only in
        // Development), where BadRequestProblems answers them as 4xx problem details.
        builder.Services.Configure<RouteHandlerOptions>(options => options.ThrowOnBadRequest = true);
        builder.Services.AddExceptionHandler<BadRequestProblems>();
        builder.Services.AddOpenApi();
        return builder;
    }

    public static bool IsTransientButNotThrottled(Outcome<HttpResponseMessage> outcome) =>
        HttpClientResiliencePredicates.IsTransient(outcome) && outcome.Result?.StatusCode != HttpStatusCode.TooManyRequests;

    public static TBuilder AddDefaultHealthChecks<TBuilder>(this TBuilder builder) where TBuilder : IHostApplicationBuilder
    {
        builder.Services.AddHealthChecks().AddCheck("self", () => HealthCheckResult.Healthy(), [LiveTag]);
        return builder;
    }

    /// <summary>
    /// Aspire's client integrations name their checks after the client library ("PostgreSql",
    /// "StackExchange.Redis", "RabbitMQ.Client"); /health names them after the servers (postgres,
    /// rabbitmq, redis), as Admin.Web's System page and the outage tests read them, and a server
    /// the service can do without fails as <paramref name="failureStatus"/>.
    /// </summary>
    internal static void RenameHealthCheck(this IHostApplicationBuilder builder, string integrationName, string name, HealthStatus? failureStatus = null) =>
        builder.Services.PostConfigure<HealthCheckServiceOptions>(options =>
        {
            foreach (var check in options.Registrations.Where(r => r.Name == integrationName))
            {
                check.Name = name;
                check.FailureStatus = failureStatus ?? check.FailureStatus;
            }
        });

    /// <param name="problemDetails">APIs answer errors as problem details; a site with its own error pages passes false.</param>
    public static WebApplication MapDefaultEndpoints(this WebApplication app, bool problemDetails = true)
    {
        if (problemDetails)
        {
            app.UseExceptionHandler();
            app.UseStatusCodePages();
        }

        // /health: ready to serve (database, broker, cache reachable). /alive: the process answers.
        app.MapHealthChecks("/health", new HealthCheckOptions { ResponseWriter = HealthReportWriter.WriteAsync });
        app.MapHealthChecks("/alive", new HealthCheckOptions { Predicate = r => r.Tags.Contains(LiveTag) });

        if (app.Environment.IsDevelopment())
        {
            app.MapOpenApi();
            app.MapScalarApiReference();
        }
        return app;
    }
}
