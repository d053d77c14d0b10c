using System.Globalization;
using ModelForge.Core.Diagnostics;

namespace ModelForge.Package.Triton;

/// <summary>
/// Which versions of a model Triton serves (<c>version_policy</c>, serving.md §2.2): the <see cref="Latest"/> N
/// versions, <see cref="All"/> of them, or <see cref="Specific"/> ones. The config is shared by every version of the model.
/// </summary>
public abstract record TritonVersionPolicy
{
    private TritonVersionPolicy() { }

    /// <summary>Triton's default: the highest version only.</summary>
    public static readonly TritonVersionPolicy Default = new Latest(1);

    public sealed record Latest(int NumVersions) : TritonVersionPolicy;

    public sealed record All : TritonVersionPolicy;

    public sealed record Specific(IReadOnlyList<long> Versions) : TritonVersionPolicy;

    /// <summary>The versions Triton loads from <paramref name="present"/> under this policy, ascending.</summary>
    public IReadOnlyList<long> Selects(IEnumerable<long> present)
    {
        var sorted = present.Distinct().Order().ToList();
        return this switch
        {
            Latest latest => sorted.TakeLast(latest.NumVersions).ToList(),
            Specific specific => sorted.Where(specific.Versions.Contains).ToList(),
            _ => sorted,
        };
    }

    /// <summary>How the CLI and the output spell it: <c>latest:N</c>, <c>all</c>, <c>specific:1,3</c>.</summary>
    public sealed override string ToString() => this switch
    {
        Latest latest => $"latest:{latest.NumVersions}",
        Specific specific => "specific:" + string.Join(",", specific.Versions),
        _ => "all",
    };

    /// <summary>Reads the CLI form (<see cref="ToString"/>); anything else is <see cref="DiagnosticCode.TritonConfigInvalid"/>.</summary>
    public static TritonVersionPolicy Parse(string text)
    {
        var trimmed = text.Trim();
        var colon = trimmed.IndexOf(':');
        var kind = colon < 0 ? trimmed : trimmed[..colon];
        var rest = colon < 0 ? "" : trimmed[(colon + 1)..];
        try
        {
            return kind switch
            {
                "all" when colon < 0 => new All(),
                "latest" => new Latest(int.Parse(rest, NumberStyles.None, CultureInfo.InvariantCulture)),
                "specific" => new Specific(rest.Split(',').Select(v => long.Parse(v.Trim(), NumberStyles.None, CultureInfo.InvariantCulture)).ToList()),
                _ => throw new FormatException(),
            };
        }
        catch (Exception e) when (e is FormatException or OverflowException)
        {
            throw new ModelForgeException(DiagnosticCode.TritonConfigInvalid, $"version policy '{text}' is not latest:N, all or specific:V1,V2,…", null,
                "e.g. --version-policy latest:2 (serve the 2 highest versions), all, or specific:1,3");
        }
    }
}
