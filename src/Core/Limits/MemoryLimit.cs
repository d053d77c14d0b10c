using System.Globalization;
using ModelForge.Core.Diagnostics;

namespace ModelForge.Core.Limits;

/// <summary>
/// The global memory cap: no single allocation ModelForge makes from a size a file declares (a tensor storage in
/// <c>data.pkl</c>, a compressed archive entry, a <c>.npy</c> shape, a generated validation input), and no total of
/// such allocations for one archive, may exceed it. The cap is <see cref="EnvironmentVariable"/> megabytes when that
/// variable is set, else <see cref="DefaultFraction"/> of the memory this process may use
/// (<see cref="GCMemoryInfo.TotalAvailableMemoryBytes"/>, which respects container and cgroup limits).
/// </summary>
/// <remarks>
/// Memory-mapped data (stored archive entries: the weights) is not allocated and does not count towards totals; it is
/// only paged in as it is read. Tests lower the cap for their own flow with <see cref="Override"/>.
/// </remarks>
public static class MemoryLimit
{
    /// <summary>The cap in megabytes (MiB), a positive integer.</summary>
    public const string EnvironmentVariable = "MODELFORGE_MEMORY_LIMIT_MB";

    /// <summary>The default cap's share of the memory available to the process.</summary>
    public const double DefaultFraction = 0.75;

    private const int DefaultPercent = (int)(DefaultFraction * 100);

    private const string Hint = "raise " + EnvironmentVariable + " (in MiB) if the machine has the memory, or check that the file is not damaged";

    private static readonly Lazy<(long Bytes, string Source)> Process = new(FromEnvironment, LazyThreadSafetyMode.ExecutionAndPublication);
    private static readonly AsyncLocal<(long Bytes, string Source)?> Scoped = new();

    /// <summary>The cap in bytes. Throws MF1015 when <see cref="EnvironmentVariable"/> is set to an invalid value.</summary>
    public static long Bytes => Current.Bytes;

    /// <summary>Where the cap comes from, for messages: the variable, or the default share of available memory.</summary>
    public static string Source => Current.Source;

    private static (long Bytes, string Source) Current => Scoped.Value ?? Process.Value;

    /// <summary>
    /// Throws <see cref="DiagnosticCode.MemoryLimitExceeded"/> (MF1014) when <paramref name="bytes"/> exceed the cap;
    /// <paramref name="what"/> names what needs them (<c>tensor storage 'data/0'</c>). Call before allocating.
    /// </summary>
    public static void Check(long bytes, string what, SourceLocation? where)
    {
        var (cap, source) = Current;
        if (bytes <= cap) return;
        throw new ModelForgeException(DiagnosticCode.MemoryLimitExceeded,
            $"{what} needs {Describe(bytes)}, more than the memory cap of {Describe(cap)} ({source})", where, Hint);
    }

    /// <summary>
    /// Sets the cap to <paramref name="bytes"/> for the calling flow (this thread and the tasks it starts) until the
    /// result is disposed; other threads keep theirs. For tests.
    /// </summary>
    internal static IDisposable Override(long bytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(bytes);
        var previous = Scoped.Value;
        Scoped.Value = (bytes, "lowered for a test");
        return new Restore(previous);
    }

    /// <summary>
    /// The cap for a value of <see cref="EnvironmentVariable"/>: null when unset or empty (use the default), else a
    /// positive integer number of MiB. Throws <see cref="DiagnosticCode.MemoryLimitInvalid"/> (MF1015) otherwise.
    /// </summary>
    internal static long? ParseMegabytes(string? value)
    {
        if (string.IsNullOrWhiteSpace(value)) return null;
        var text = value.Trim();
        if (!long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var megabytes) || megabytes <= 0)
            throw new ModelForgeException(DiagnosticCode.MemoryLimitInvalid,
                $"{EnvironmentVariable} is '{(text.Length <= 40 ? text : text[..40] + "…")}', not a positive whole number of MiB", null,
                $"set {EnvironmentVariable} to a number such as 8192 (8 GiB), or unset it to use {DefaultPercent}% of the available memory");
        if (megabytes > long.MaxValue >> 20)
            throw new ModelForgeException(DiagnosticCode.MemoryLimitInvalid,
                $"{EnvironmentVariable} is {megabytes} MiB, more bytes than fit in 64 bits", null,
                $"set {EnvironmentVariable} to the memory the machine has, in MiB");
        return megabytes << 20;
    }

    /// <summary><see cref="DefaultFraction"/> of the memory the process may use (the GC's view, cgroup limits included).</summary>
    internal static long DefaultBytes()
    {
        var available = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
        return Math.Max(1L << 20, (long)(available * DefaultFraction));
    }

    private static (long, string) FromEnvironment()
    {
        var bytes = ParseMegabytes(Environment.GetEnvironmentVariable(EnvironmentVariable));
        return bytes is { } set
            ? (set, $"from {EnvironmentVariable}")
            : (DefaultBytes(), $"{DefaultPercent}% of the {Describe(GC.GetGCMemoryInfo().TotalAvailableMemoryBytes)} this process may use");
    }

    internal static string Describe(long bytes) =>
        bytes >= 1L << 30 ? string.Create(CultureInfo.InvariantCulture, $"{bytes / (double)(1L << 30):0.##} GiB ({bytes} bytes)")
        : bytes >= 1L << 20 ? string.Create(CultureInfo.InvariantCulture, $"{bytes / (double)(1L << 20):0.##} MiB ({bytes} bytes)")
        : string.Create(CultureInfo.InvariantCulture, $"{bytes} bytes");

    private sealed class Restore((long Bytes, string Source)? previous) : IDisposable
    {
        public void Dispose() => Scoped.Value = previous;
    }
}
