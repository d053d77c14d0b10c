using System.Globalization;
using ModelForge.Core.Diagnostics;

namespace ModelForge.Package.Tuning.Traffic;

/// <summary>How requests arrive (docs/tuning.md, "Traffic-aware batching").</summary>
public enum ArrivalProcess
{
    /// <summary>Independent requests: exponential gaps with mean 1/rate.</summary>
    Poisson,

    /// <summary>
    /// Bursts of <see cref="TrafficProfile.BurstSize"/> requests arriving at the same instant, the bursts themselves a
    /// Poisson process at rate / burst size (a compound Poisson process with the same mean rate): a client fanning out, or a
    /// gateway flushing its buffer.
    /// </summary>
    Bursty,

    /// <summary>Evenly spaced requests, exactly 1/rate apart (a constant-rate load generator).</summary>
    Deterministic,
}

/// <summary>
/// The load a bundle is tuned for: a mean request rate (one inference per request) and how requests arrive. The p99
/// budget it must meet is the objective's (<see cref="TuningObjective.P99BudgetMilliseconds"/>).
/// </summary>
public sealed record TrafficProfile(double RequestsPerSecond, ArrivalProcess Arrival = ArrivalProcess.Poisson, int BurstSize = 1)
{
    /// <summary>The burst size a bursty profile gets when none is given.</summary>
    public const int DefaultBurstSize = 8;

    /// <summary>A profile with the default burst size (bursty: <see cref="DefaultBurstSize"/>, else 1) when none was given; a burst size given to other arrivals is kept, for <see cref="Validate"/> to refuse.</summary>
    public static TrafficProfile Of(double requestsPerSecond, ArrivalProcess arrival, int? burstSize) =>
        new(requestsPerSecond, arrival, burstSize ?? (arrival == ArrivalProcess.Bursty ? DefaultBurstSize : 1));

    /// <summary>Throws MF4061 for a profile the simulator cannot use, or one without the p99 budget it is to meet.</summary>
    /// <remarks>The packager also refuses a profile with tuning off: there are no service times to simulate.</remarks>
    public void Validate(double? p99BudgetMilliseconds)
    {
        if (!(RequestsPerSecond > 0 && double.IsFinite(RequestsPerSecond)))
            throw Invalid($"request rate {RequestsPerSecond.ToString(CultureInfo.InvariantCulture)}/s is not a positive number", "give the mean rate the model will serve, e.g. 200 requests/s");
        if (BurstSize < 1 || (Arrival != ArrivalProcess.Bursty && BurstSize != 1))
            throw Invalid($"burst size {BurstSize} is invalid for {Name(Arrival)} arrivals", "a burst size (≥ 1) belongs to bursty arrivals only");
        if (p99BudgetMilliseconds is null)
            throw Invalid("a traffic profile needs the p99 latency budget it is to meet", "give the budget (package.tuning.latencyBudgetMs, --latency-budget-ms)");
    }

    /// <summary>The arrival process as the spec and the command line write it.</summary>
    public static string Name(ArrivalProcess arrival) => arrival.ToString().ToLowerInvariant();

    /// <summary>E.g. "200 requests/s, poisson" or "200 requests/s, bursty (bursts of 8)": also part of the tuning lock's key.</summary>
    public override string ToString() =>
        $"{RequestsPerSecond.ToString("0.###", CultureInfo.InvariantCulture)} requests/s, {Name(Arrival)}" +
        (Arrival == ArrivalProcess.Bursty ? $" (bursts of {BurstSize})" : "");

    private static ModelForgeException Invalid(string message, string hint) => new(DiagnosticCode.TrafficProfileInvalid, "traffic profile: " + message, null, hint);
}
