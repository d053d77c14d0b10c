using System.Globalization;
using ModelForge.Core.Diagnostics;

namespace ModelForge.Package;

/// <summary>
/// The one time a bundle records, so the same inputs give byte-identical archives:
/// <list type="number">
/// <item>an explicit <see cref="PackageRequest.Timestamp"/>;</item>
/// <item><c>SOURCE_DATE_EPOCH</c> (seconds since 1970, UTC; the reproducible-builds convention);</item>
/// <item>otherwise the last-write time of the model file being packaged. That time changes only when the model does, so
/// repackaging the same file gives the same bytes, and <c>createdOn</c> still says when the model was made. (A fixed
/// constant would also be deterministic but would make <c>createdOn</c> meaningless.)</item>
/// </list>
/// Times are UTC, truncated to whole seconds, and clamped to 1980-01-01 or later: zip's DOS timestamps cannot go earlier
/// (and have two-second resolution, so zip entry times are the even second at or before this time).
/// </summary>
public static class BundleTimestamp
{
    public const string EnvironmentVariable = "SOURCE_DATE_EPOCH";

    /// <summary>Zip's DOS date/time starts at 1980; earlier times (e.g. SOURCE_DATE_EPOCH=0) are written as this.</summary>
    public static readonly DateTimeOffset Earliest = new(1980, 1, 1, 0, 0, 0, TimeSpan.Zero);

    public static DateTimeOffset Resolve(DateTimeOffset? explicitTime, string sourceFile)
    {
        var time = explicitTime ?? FromEnvironment() ?? new DateTimeOffset(File.GetLastWriteTimeUtc(sourceFile), TimeSpan.Zero);
        time = time.ToUniversalTime();
        time = new DateTimeOffset(time.Ticks - time.Ticks % TimeSpan.TicksPerSecond, TimeSpan.Zero);
        return time < Earliest ? Earliest : time;
    }

    private static DateTimeOffset? FromEnvironment()
    {
        var text = Environment.GetEnvironmentVariable(EnvironmentVariable);
        if (string.IsNullOrWhiteSpace(text)) return null;
        if (!long.TryParse(text.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var seconds) || seconds > 253402300799)
            throw new ModelForgeException(DiagnosticCode.BundleNameInvalid,
                $"{EnvironmentVariable}='{text}' is not a non-negative number of seconds since 1970", null,
                $"set {EnvironmentVariable} to an integer such as the last commit's time (git log -1 --format=%ct), or unset it");
        return DateTimeOffset.FromUnixTimeSeconds(seconds);
    }
}
