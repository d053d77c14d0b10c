using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using ModelForge.Core.Diagnostics;
using ModelForge.Core.IO;
using ModelForge.Model;
using ModelForge.Runtime;

namespace ModelForge.Package.Tuning;

/// <summary>What a build does with a recorded tuning decision (<see cref="TuningLock"/>).</summary>
public enum TuningLockMode
{
    /// <summary>Reuse the lock while it matches; otherwise measure (warning MF4057 when one was there) and record the new decision.</summary>
    Reuse,

    /// <summary>Measure again whatever the lock says, and record the new decision (<c>--retune</c>).</summary>
    Retune,

    /// <summary>Reuse the lock, and stop with MF4057 when it is missing or no longer matches: nothing is measured (<c>--locked</c>, for CI).</summary>
    Locked,
}

/// <summary>
/// What a tuning decision depends on, each part as text so that a mismatch can say what changed: the model's bytes,
/// its declared inputs, the tuning settings (level, objective, grids, provider) and the machine class it was measured on
/// (processor model, logical cores, OS and architecture, ONNX Runtime version). Weights count as part of the model (a
/// changed weight file is a new model) because the lock cannot tell which bytes of the ONNX file are weights.
/// </summary>
public sealed record TuningLockKey(string Model, string Inputs, string Tuning, string Machine, string OnnxRuntime)
{
    /// <summary>The key of tuning <paramref name="onnxPath"/> with these inputs, settings and objective on this machine.</summary>
    public static TuningLockKey For(string onnxPath, IReadOnlyList<InputSpec> inputs, TuningOptions options, TuningObjective objective) => new(
        Model: "sha256:" + Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(onnxPath))),
        Inputs: string.Join("; ", inputs),
        Tuning: $"{options.Level.ToString().ToLowerInvariant()}, {objective}, batches [{string.Join(", ", options.BatchSizes)}], " +
                $"instances [{string.Join(", ", options.InstanceCounts)}], provider {options.Provider.ToString().ToLowerInvariant()}",
        Machine: MachineClass(),
        OnnxRuntime: OrtHost.Version);

    /// <summary>The parts of <paramref name="current"/> that differ from this recorded key, as "what: recorded → now"; empty when it matches.</summary>
    public IReadOnlyList<string> Differences(TuningLockKey current)
    {
        var parts = new (string What, string Recorded, string Now)[]
        {
            ("the model", Model, current.Model),
            ("the inputs", Inputs, current.Inputs),
            ("the tuning settings", Tuning, current.Tuning),
            ("the machine", Machine, current.Machine),
            ("ONNX Runtime", OnnxRuntime, current.OnnxRuntime),
        };
        return parts.Where(p => p.Recorded != p.Now).Select(p => $"{p.What}: {p.Recorded} → {p.Now}").ToList();
    }

    /// <summary>
    /// The processor model, logical cores, OS and architecture: what makes measurements comparable. Not the host name or
    /// kernel version, so identical CI runners share a class.
    /// </summary>
    private static string MachineClass()
    {
        var os = OperatingSystem.IsLinux() ? "linux" : OperatingSystem.IsWindows() ? "windows" : OperatingSystem.IsMacOS() ? "macos" : "other";
        return $"{ProcessorModel()}, {Environment.ProcessorCount} logical cores, {os}-{RuntimeInformation.OSArchitecture.ToString().ToLowerInvariant()}";
    }

    private static string ProcessorModel()
    {
        const string cpuInfo = "/proc/cpuinfo";
        if (OperatingSystem.IsLinux() && File.Exists(cpuInfo))
            foreach (var line in File.ReadLines(cpuInfo))
                if (line.StartsWith("model name", StringComparison.Ordinal) && line.IndexOf(':') is var colon and > 0)
                    return line[(colon + 1)..].Trim();
        return Environment.GetEnvironmentVariable("PROCESSOR_IDENTIFIER") ?? RuntimeInformation.ProcessArchitecture.ToString();
    }
}

/// <summary>
/// A recorded tuning decision (<c>NAME.tuning.lock.json</c> next to a spec): the key it was measured under and the whole
/// report, so that reusing it writes the same <c>config.pbtxt</c>, KServe YAML and <c>tuning/</c> files byte for byte.
/// Meant to be committed, like a package lock file. Hand-written JSON rather than a serializer attribute set on the key
/// because the file must say what it is (<see cref="FormatName"/>) before anything else is trusted.
/// </summary>
public sealed record TuningLock(TuningLockKey Key, TuningReport Report)
{
    public const string FormatName = "modelforge-tuning-lock/1";
    public const string FileSuffix = ".tuning.lock.json";

    /// <summary>Reads a lock; a file that is not one (another format, broken JSON) is MF4058, since overwriting it could lose someone's file.</summary>
    public static TuningLock Read(string path)
    {
        try
        {
            var root = JsonNode.Parse(File.ReadAllText(path)) as JsonObject;
            if (root?["format"]?.GetValue<string>() != FormatName)
                throw Unreadable(path, $"it is not a ModelForge tuning lock (its \"format\" is not \"{FormatName}\")", null);
            var key = root["key"].Deserialize<TuningLockKey>(TuningReportWriter.JsonOptions);
            var report = root["report"].Deserialize<TuningReport>(TuningReportWriter.JsonOptions);
            if (key is null || report is null || new object?[] { key.Model, key.Inputs, key.Tuning, key.Machine, key.OnnxRuntime }.Any(v => v is null))
                throw Unreadable(path, "its \"key\" or \"report\" is missing or incomplete", null);
            return new TuningLock(key, report);
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException or NotSupportedException)
        {
            throw Unreadable(path, e.Message, e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw Unreadable(path, "it cannot be read: " + e.Message, e);
        }
    }

    /// <summary>Writes the lock atomically (a reader sees the old lock or the new one).</summary>
    public void Write(string path)
    {
        var root = new JsonObject
        {
            ["format"] = FormatName,
            ["comment"] = "The batching decision ModelForge measured, reused by later builds while the key matches. Commit it; " +
                          "delete it or build with --retune to measure again.",
            ["key"] = JsonSerializer.SerializeToNode(Key, TuningReportWriter.JsonOptions),
            ["report"] = JsonSerializer.SerializeToNode(Report, TuningReportWriter.JsonOptions),
        };
        var text = root.ToJsonString(TuningReportWriter.JsonOptions) + "\n";
        try
        {
            AtomicFile.Write(path, stream => stream.Write(new UTF8Encoding(false).GetBytes(text)));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ModelForgeException(new Diagnostic(DiagnosticCode.OutputNotWritable, $"cannot write the tuning lock '{path}': {e.Message}",
                new SourceLocation(path), "make the spec's folder writable, or build with --tune off"), e);
        }
    }

    private static ModelForgeException Unreadable(string path, string why, Exception? inner) =>
        new(new Diagnostic(DiagnosticCode.TuningLockUnreadable, $"the tuning lock '{Path.GetFileName(path)}' cannot be used: {why}",
            new SourceLocation(path), "ModelForge leaves a file it did not write alone: move or delete it, and the build measures again and records a new lock"), inner);
}
