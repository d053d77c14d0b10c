using System.Globalization;
using System.Text;
using ModelForge.Core.Diagnostics;
using ModelForge.Core.IO;
using ModelForge.Package.IO;
using ModelForge.Package.Processing;

namespace ModelForge.Package.Triton;

/// <summary>What adding a version to a repository did.</summary>
/// <param name="VersionsPresent">Every version folder of the model afterwards, ascending, the new one included.</param>
/// <param name="VersionsServed">The versions the config's version_policy selects from them.</param>
/// <param name="Changes">The interface changes accepted with <see cref="TritonOptions.NewConfig"/>; empty when the interface is unchanged.</param>
/// <param name="ConfigWritten">False when the existing config already said exactly what this build's does, and was left as it was.</param>
public sealed record TritonVersionWrite(TritonModel Model, int Version, IReadOnlyList<long> VersionsPresent, IReadOnlyList<long> VersionsServed,
    IReadOnlyList<InterfaceChange> Changes, bool ConfigWritten)
{
    /// <summary>What the command prints: the version written, what is served, and who an interface change breaks.</summary>
    public IEnumerable<string> Describe(TritonVersionPolicy policy)
    {
        yield return $"triton: added version {Version} of '{Model.Plan.ModelName}' to {Model.RepositoryRoot} " +
                     $"(versions present: {string.Join(", ", VersionsPresent)}; {policy} serves {string.Join(", ", VersionsServed)})";
        if (!VersionsServed.Contains(Version))
            yield return $"triton: version {Version} is not served under version_policy {policy}";
        foreach (var change in Changes)
            yield return $"triton: interface change accepted (--new-config): {change}";
        var olderServed = VersionsServed.Where(v => v != Version).ToList();
        if (Changes.Count > 0 && olderServed.Count > 0)
            yield return $"triton: {(olderServed.Count == 1 ? "version" : "versions")} {string.Join(", ", olderServed)} {(olderServed.Count == 1 ? "is" : "are")} served under the new config too; " +
                         "Triton refuses to load a version whose model does not match it";
    }
}

/// <summary>
/// Adds a build to an existing Triton model repository as the model's next version (<c>N+1</c> after the highest
/// version folder there, 1 for a new model). Nothing that is already in the repository is touched, apart from the
/// model's <c>config.pbtxt</c>, which every version shares and which must be one ModelForge wrote: other models,
/// other files and the existing version folders stay byte for byte as they were, and nothing is deleted.
/// <para>
/// The version folder is filled in a hidden staging folder inside the model folder and renamed to its number, so a
/// server polling the repository never sees a partial version (Triton takes only numeric folder names for versions).
/// Then the config is replaced atomically (<see cref="AtomicFile"/>), and only if its text changed. The new config
/// is this build's: the interface (inputs, outputs, data types, dims, batch semantics) must equal the existing one,
/// or it is refused as <see cref="DiagnosticCode.TritonConfigIncompatible"/> with every difference and the clients it
/// breaks, unless <see cref="TritonOptions.NewConfig"/> says the change is intended; what may change from build to
/// build (version_policy, batching, instance groups, warmup, accelerator) is taken from the new build.
/// </para>
/// </summary>
public static class TritonRepositoryVersions
{
    public static TritonVersionWrite Add(PackageRequest request, string repositoryRoot, TritonOptions options)
    {
        var root = RepositoryRoot(repositoryRoot);
        TritonRepositoryWriter.CheckNames(request);
        var slot = Open(root, request.ModelName);
        var plan = TritonRepositoryWriter.Plan(request with { Version = slot.Version }, options, slot.Present);
        var changes = InterfaceChanges([(slot, plan)], options);
        return Write(slot, plan, changes[0], options);
    }

    /// <summary>
    /// Adds an ensemble build (<see cref="TritonEnsembleWriter"/>): the preprocessing, the model, the postprocessing, the
    /// fused model when there is one, and the ensemble each get their own next version, every config planned, checked
    /// against the server's rules and compared with the existing one before the first folder is written. The steps are
    /// written before the ensemble, so a polling server sees each step's new version before the ensemble's; each version
    /// folder is staged and renamed into place as in <see cref="Add"/>. Returns the model's write first.
    /// </summary>
    public static IReadOnlyList<TritonVersionWrite> AddEnsemble(PackageRequest request, string repositoryRoot, TritonOptions options,
        ProcessingPlan processing, ProcessingFiles files)
    {
        var root = RepositoryRoot(repositoryRoot);
        TritonRepositoryWriter.CheckNames(request);
        var slots = new Dictionary<string, RepositorySlot>(StringComparer.Ordinal);
        TritonVersionSlot SlotOf(string modelName)
        {
            if (!slots.TryGetValue(modelName, out var slot)) slots[modelName] = slot = Open(root, modelName);
            return new TritonVersionSlot(slot.Version, slot.Present);
        }
        var ensemble = TritonEnsembleWriter.Plan(request, options, processing, files, SlotOf);
        var fused = files.FusedPath is { } fusedPath ? TritonEnsembleWriter.PlanFused(request, options, processing, fusedPath, SlotOf) : null;
        var plans = ensemble.Steps.Select(step => step.Model).Concat(fused is null ? [] : [fused]).Append(ensemble.Ensemble)
            .Select(plan => (slots[plan.ModelName], plan)).ToList();
        var changes = InterfaceChanges(plans, options);
        var writes = plans.Select((p, i) => Write(p.Item1, p.plan, changes[i], options)).ToList();
        return writes.OrderBy(w => w.Model.Plan.ModelName == request.ModelName ? 0 : 1).ToList();
    }

    /// <summary>One model's folder in the repository before a version is added: its existing config, the versions there, the next one.</summary>
    private sealed record RepositorySlot(string Root, string ModelDirectory, string ConfigPath, (string Text, TritonInterface Interface)? Existing, List<long> Present, int Version);

    private static string RepositoryRoot(string repositoryRoot)
    {
        var root = Path.GetFullPath(repositoryRoot);
        if (File.Exists(root))
            throw Repository($"the Triton repository '{root}' is a file", root, "name a folder (it is created when absent)");
        return root;
    }

    private static RepositorySlot Open(string root, string modelName)
    {
        var modelDirectory = Path.Combine(root, modelName);
        var configPath = Path.Combine(modelDirectory, TritonRepositoryWriter.ConfigFileName);
        var existing = Directory.Exists(modelDirectory) ? ReadExistingConfig(configPath) : null;
        var present = existing is null ? [] : VersionsIn(modelDirectory);
        if (present.Count > 0 && present[^1] >= int.MaxValue)
            throw Repository($"version {present[^1]} of '{modelName}' leaves no next version number", modelDirectory, "add the version by hand under a lower number");
        return new RepositorySlot(root, modelDirectory, configPath, existing, present, present.Count == 0 ? 1 : (int)present[^1] + 1);
    }

    /// <summary>
    /// Each plan's interface changes against its model's existing config; without <see cref="TritonOptions.NewConfig"/>
    /// any change is MF4013, listing every model's, before anything is written.
    /// </summary>
    private static List<IReadOnlyList<InterfaceChange>> InterfaceChanges(IReadOnlyList<(RepositorySlot Slot, TritonModelPlan Plan)> plans, TritonOptions options)
    {
        var changes = plans.Select(p => p.Slot.Existing is not { } current ? [] : (IReadOnlyList<InterfaceChange>)current.Interface.ChangesTo(TritonInterface.Read(p.Plan.ConfigText))).ToList();
        var changed = plans.Zip(changes).Where(p => p.Second.Count > 0).ToList();
        if (changed.Count > 0 && !options.NewConfig)
            throw new ModelForgeException(DiagnosticCode.TritonConfigIncompatible,
                string.Join("; ", changed.Select(c => $"the model's interface differs from '{c.First.Slot.ConfigPath}', which versions {string.Join(", ", c.First.Slot.Present)} share: " + string.Join("; ", c.Second))),
                new SourceLocation(changed[0].First.Slot.ConfigPath),
                "serve the new interface under another model name (--name), or pass --new-config (spec: package.triton.newConfig) if the change is intended: the output then lists the clients it breaks");
        return changes;
    }

    private static TritonVersionWrite Write(RepositorySlot slot, TritonModelPlan plan, IReadOnlyList<InterfaceChange> changes, TritonOptions options)
    {
        var (root, modelDirectory, configPath, existing, present, version) = slot;
        var versionDirectory = Path.Combine(modelDirectory, version.ToString(CultureInfo.InvariantCulture));
        var configBytes = Encoding.UTF8.GetBytes(plan.ConfigText);
        var configWritten = true;
        try
        {
            // A new model appears whole (config and version 1 together); in an existing one the version comes first:
            // until the config follows, the server keeps serving under the old one.
            var target = existing is null ? modelDirectory : versionDirectory;
            if (existing is null) Directory.CreateDirectory(root);
            var written = existing is null
                ? StagedDirectory.WriteNew(modelDirectory, staging =>
                {
                    File.WriteAllBytes(Path.Combine(staging, TritonRepositoryWriter.ConfigFileName), configBytes);
                    TritonRepositoryWriter.WriteModelFiles(plan, staging);
                    CopyVersionFiles(plan, Path.Combine(staging, version.ToString(CultureInfo.InvariantCulture)));
                })
                : StagedDirectory.WriteNew(versionDirectory, staging => CopyVersionFiles(plan, staging));
            if (!written)
                throw Repository($"'{target}' appeared while this build was writing it (another build adding to the same model?); it was left as it is",
                    modelDirectory, "run the build again: it takes the next free version number");
            if (existing is { } previous)
            {
                // Warm-up data is named by version (warmup/vN/…), so it never replaces what the current config reads.
                var warmupFolder = WarmupSample.VersionFolder(version);
                var (warmup, shared) = (plan with { ModelFiles = plan.ModelFiles.Where(f => IsUnder(f, warmupFolder)).ToList() },
                    plan.ModelFiles.Where(f => !IsUnder(f, warmupFolder)));
                if (warmup.ModelFiles.Count > 0 && !StagedDirectory.WriteNew(Path.Combine(modelDirectory, warmupFolder),
                        staging => TritonRepositoryWriter.WriteModelFiles(warmup, staging, warmupFolder)))
                    throw Repository($"'{warmupFolder}' already exists in '{modelDirectory}' (left by a version deleted by hand?); it was left as it is", modelDirectory,
                        $"move {warmupFolder} away, then run again");
                // A label file, like the config, is shared by every version: replaced atomically, and only when it changed.
                foreach (var file in shared)
                {
                    var path = Path.Combine(modelDirectory, file.RelativePath);
                    if (!File.Exists(path) || !File.ReadAllBytes(path).AsSpan().SequenceEqual(file.Bytes))
                        AtomicFile.Write(path, stream => stream.Write(file.Bytes));
                }
                configWritten = previous.Text != plan.ConfigText;
                if (configWritten) AtomicFile.Write(configPath, stream => stream.Write(configBytes));
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw TextOutput.NotWritable(modelDirectory, e);
        }

        var versions = present.Append(version).ToList();
        return new TritonVersionWrite(new TritonModel(root, modelDirectory, configPath, plan), version, versions,
            options.VersionPolicy.Selects(versions), changes, configWritten);
    }

    private static bool IsUnder(TritonModelFile file, string folder) => file.RelativePath.StartsWith(folder + "/", StringComparison.Ordinal);

    /// <summary>
    /// The model's version folders, ascending: Triton's rule (serving.md §2.1) is a name <c>stoll</c> reads, without a
    /// leading 0; hidden staging folders (<c>.4.staging-…</c>) are not versions.
    /// </summary>
    public static List<long> VersionsIn(string modelDirectory) =>
        Directory.EnumerateDirectories(modelDirectory)
            .Select(Path.GetFileName)
            .Where(name => name is { Length: > 0 } && name.All(char.IsAsciiDigit) && (name == "0" || name[0] != '0'))
            .Select(name => long.TryParse(name, NumberStyles.None, CultureInfo.InvariantCulture, out var v) ? v : -1)
            .Where(v => v >= 0)
            .Order()
            .ToList();

    private static void CopyVersionFiles(TritonModelPlan plan, string versionDirectory)
    {
        Directory.CreateDirectory(versionDirectory);
        foreach (var file in plan.VersionFiles)
        {
            var target = Path.Combine(versionDirectory, file.EntryName);
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file.SourcePath, target);
        }
    }

    /// <summary>The model folder's config, which must be one ModelForge wrote (it is replaced) and can read (its interface is compared).</summary>
    private static (string Text, TritonInterface Interface)? ReadExistingConfig(string configPath)
    {
        var modelDirectory = Path.GetDirectoryName(configPath)!;
        if (!File.Exists(configPath))
            throw Repository($"the model folder '{modelDirectory}' has no {TritonRepositoryWriter.ConfigFileName}: it is not a model ModelForge can add a version to",
                modelDirectory, "package under another model name (--name), or add a config.pbtxt written by ModelForge");
        var text = File.ReadAllText(configPath);
        if (!text.StartsWith("# " + TritonRepositoryWriter.ConfigHeader, StringComparison.Ordinal))
            throw Repository($"'{configPath}' was not written by ModelForge, and adding a version replaces it (every version shares it): its author's settings would be lost",
                configPath, "package under another model name (--name), or add the version folder by hand");
        try
        {
            return (text, TritonInterface.Read(text));
        }
        catch (FormatException e)
        {
            throw Repository($"'{configPath}' cannot be read as a Triton config: {e.Message}", configPath,
                "restore the config ModelForge wrote, or package under another model name (--name)");
        }
    }

    private static ModelForgeException Repository(string message, string path, string hint) =>
        new(DiagnosticCode.TritonRepositoryInvalid, message, new SourceLocation(path), hint);
}
