namespace Funnels.Messaging.Runs;

public static class FlowQueues
{
    /// <summary>RabbitMQ queue of ExecuteTrigger: one burst of clicks is drained by every worker instance in parallel.</summary>
    public const string Executions = "messaging-flow-executions";

    /// <summary>Durable local queue of run resumes, replies and timeouts.</summary>
    public const string Runs = "flow-runs";

    /// <summary>Durable local queue of Graph API sends.</summary>
    public const string Sends = "whatsapp-sends";
}
