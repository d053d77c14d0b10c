using ModelForge.Core.Diagnostics;
using ModelForge.Model;
using ModelForge.Package.Processing;
using ModelForge.Package.Triton;

namespace ModelForge.Package.Tests;

/// <summary>
/// Adding builds to an existing Triton repository (<see cref="TritonRepositoryVersions"/>): the next version number,
/// existing versions and other models left byte for byte, an incompatible config refused with nothing written.
/// </summary>
[Collection(ModelsCollection.Name)]
public sealed class TritonVersionTests(Models models) : IDisposable
{
    private readonly string _repo = Path.Combine(Directory.CreateTempSubdirectory("modelforge-triton-repo-").FullName, "models");

    public void Dispose() => Directory.Delete(Path.GetDirectoryName(_repo)!, recursive: true);

    private static readonly TritonOptions Options = new();

    /// <summary>ResNet declared at 96×96: the same graph with its input dims changed, enough for the config (the rules read only the signature).</summary>
    private PackageRequest ResNet96() => Requests.ResNet(models) with
    {
        OnnxPath = models.Mutate(models.ResNetOnnx, "resnet96", model =>
        {
            var dims = model.Graph.Input[0].Type.TensorType.Shape.Dim;
            dims[2].DimValue = 96;
            dims[3].DimValue = 96;
        }),
        Inputs = [InputSpec.Parse("x:float32[batch,3,96,96]")],
    };

    [Fact]
    public void A_new_model_is_version_1_in_a_repository_that_is_created()
    {
        var added = TritonRepositoryVersions.Add(Requests.ResNet(models), _repo, Options);
        Assert.Equal(1, added.Version);
        Assert.Equal([1L], added.VersionsPresent);
        Assert.Equal(File.ReadAllBytes(models.ResNetOnnx), File.ReadAllBytes(Path.Combine(_repo, "resnet", "1", "model.onnx")));
        Assert.Equal(["resnet/", "resnet/1/", "resnet/1/model.onnx", "resnet/config.pbtxt"], Files(_repo).Keys);
        Assert.Equal("1", TextProto.Parse(File.ReadAllText(added.Model.ConfigPath)).Message("version_policy").Message("latest").One("num_versions"));
    }

    [Fact]
    public void Next_version_after_1_and_3_is_4_and_nothing_else_in_the_repository_changes()
    {
        TritonRepositoryVersions.Add(Requests.ResNet(models), _repo, Options);
        CopyDirectory(Path.Combine(_repo, "resnet", "1"), Path.Combine(_repo, "resnet", "3"));
        File.WriteAllText(Path.Combine(_repo, "resnet", "3", "notes.txt"), "the user's own file");
        Directory.CreateDirectory(Path.Combine(_repo, "resnet", "02"));   // a leading 0: Triton ignores it, so it is no version
        Directory.CreateDirectory(Path.Combine(_repo, "other", "7"));
        File.WriteAllText(Path.Combine(_repo, "other", "config.pbtxt"), "name: \"other\"\n");
        File.WriteAllText(Path.Combine(_repo, "other", "7", "model.onnx"), "not ours");
        var before = Files(_repo);

        var added = TritonRepositoryVersions.Add(Requests.ResNet(models) with { Batching = new BatchingConfig(16, [16], 50, 1) }, _repo,
            Options with { VersionPolicy = new TritonVersionPolicy.Latest(2) });

        Assert.Equal(4, added.Version);
        Assert.Equal([1L, 3, 4], added.VersionsPresent);
        Assert.Equal([3L, 4], added.VersionsServed);
        Assert.Empty(added.Changes);
        var after = Files(_repo);
        // Every file that was there is byte-identical, except the shared config, which took the new batching and policy.
        foreach (var (path, bytes) in before.Where(f => f.Key != "resnet/config.pbtxt"))
            Assert.Equal(bytes, after[path]);
        Assert.Equal(before.Keys.Concat(["resnet/4/", "resnet/4/model.onnx"]).Order(StringComparer.Ordinal), after.Keys);
        var config = TextProto.Parse(File.ReadAllText(added.Model.ConfigPath));
        Assert.Equal("16", config.One("max_batch_size"));
        Assert.Equal("2", config.Message("version_policy").Message("latest").One("num_versions"));
        Assert.True(added.ConfigWritten);
    }

    [Fact]
    public void Three_builds_are_versions_1_to_3_and_each_policy_serves_what_triton_would_load()
    {
        var added = Enumerable.Range(0, 3).Select(_ => TritonRepositoryVersions.Add(Requests.ResNet(models), _repo, Options)).ToList();
        Assert.Equal([1, 2, 3], added.Select(a => a.Version));
        Assert.Equal([1L, 2, 3], added[^1].VersionsPresent);

        // The same model built again is a new version; the versions there stay as they are.
        var version2 = Files(Path.Combine(_repo, "resnet", "2"));
        (string Policy, long[] Served)[] cases = [("latest:2", [3, 4]), ("all", [1, 2, 3, 4, 5]), ("specific:2,7", [2])];
        foreach (var (policy, served) in cases)
        {
            var next = TritonRepositoryVersions.Add(Requests.ResNet(models), _repo, Options with { VersionPolicy = TritonVersionPolicy.Parse(policy) });
            Assert.Equal(served, next.VersionsServed);
        }
        Assert.Equal(version2, Files(Path.Combine(_repo, "resnet", "2")));
        Assert.Equal("specific", TextProto.Parse(File.ReadAllText(Path.Combine(_repo, "resnet", "config.pbtxt"))).Message("version_policy").Fields[0].Field);
    }

    [Fact]
    public void An_unchanged_config_is_left_as_it_was()
    {
        var first = TritonRepositoryVersions.Add(Requests.ResNet(models), _repo, Options);
        var written = File.GetLastWriteTimeUtc(first.Model.ConfigPath);
        File.SetLastWriteTimeUtc(first.Model.ConfigPath, written.AddHours(-1));
        var second = TritonRepositoryVersions.Add(Requests.ResNet(models), _repo, Options);
        Assert.Equal(2, second.Version);
        Assert.False(second.ConfigWritten);
        Assert.Equal(written.AddHours(-1), File.GetLastWriteTimeUtc(second.Model.ConfigPath));
    }

    [Fact]
    public void An_incompatible_model_is_refused_with_each_difference_and_nothing_is_written()
    {
        TritonRepositoryVersions.Add(Requests.ResNet(models), _repo, Options);
        var before = Files(_repo, includeHidden: true);
        var e = Rules.Fails(DiagnosticCode.TritonConfigIncompatible, "input x: dims [-1,3,64,64] → [-1,3,96,96]: clients sending [-1,3,64,64] break",
            () => TritonRepositoryVersions.Add(ResNet96(), _repo, Options));
        Assert.Contains("--new-config", e.Diagnostics[0].Hint);
        Assert.Equal(before, Files(_repo, includeHidden: true));
    }

    [Fact]
    public void Another_interface_lists_inputs_and_outputs_removed_added_and_changed()
    {
        TritonRepositoryVersions.Add(Requests.ResNet(models), _repo, Options);
        var e = Assert.Throws<ModelForgeException>(() => TritonRepositoryVersions.Add(Requests.MultiIo(models) with { ModelName = "resnet" }, _repo, Options));
        var message = e.Diagnostics[0].Message;
        Assert.Contains("input x: dims [-1,3,64,64] → [-1,4]: clients sending [-1,3,64,64] break", message);
        Assert.Contains("input ids: added TYPE_INT64 [-1,6]: clients that do not send 'ids' break", message);
        Assert.DoesNotContain("max_batch_size", message, StringComparison.Ordinal); // 8 → 16: a larger max breaks nobody
    }

    [Fact]
    public void New_config_accepts_the_change_and_says_which_clients_break()
    {
        TritonRepositoryVersions.Add(Requests.ResNet(models), _repo, Options);
        var version1 = Files(Path.Combine(_repo, "resnet", "1"));
        var added = TritonRepositoryVersions.Add(ResNet96(), _repo, Options with { NewConfig = true });
        Assert.Equal(2, added.Version);
        var change = Assert.Single(added.Changes);
        Assert.True(change.BreaksClients);
        Assert.Equal("input x: dims [-1,3,64,64] → [-1,3,96,96]: clients sending [-1,3,64,64] break", change.ToString());
        Assert.Contains(added.Describe(Options.VersionPolicy), line => line.Contains("clients sending [-1,3,64,64] break", StringComparison.Ordinal));
        Assert.Equal([3L, 96, 96], TextProto.Parse(File.ReadAllText(added.Model.ConfigPath)).Messages("input")[0].Longs("dims"));
        Assert.Equal(version1, Files(Path.Combine(_repo, "resnet", "1")));
    }

    [Fact]
    public void A_widened_input_is_a_change_that_breaks_no_client()
    {
        var change = Assert.Single(TritonInterface.Read(Config([3, 64, 64])).ChangesTo(TritonInterface.Read(Config([3, -1, -1]))));
        Assert.False(change.BreaksClients);
        Assert.Equal("input x: dims [-1,3,64,64] → [-1,3,-1,-1]: no client breaks (the new dims accept every shape the old ones did)", change.ToString());
    }

    [Fact]
    public void A_smaller_max_batch_size_breaks_clients_sending_larger_batches()
    {
        var change = Assert.Single(TritonInterface.Read(Config([3, 64, 64])).ChangesTo(TritonInterface.Read(Config([3, 64, 64], maxBatchSize: 4))));
        Assert.True(change.BreaksClients);
        Assert.Equal("max_batch_size 8 → 4: clients sending batches of 5 to 8 break", change.ToString());
    }

    /// <summary>A config as someone might write it by hand: one-line messages, ',' between fields.</summary>
    private static string Config(long[] dims, int maxBatchSize = 8) =>
        $"platform: \"onnxruntime_onnx\"\nmax_batch_size: {maxBatchSize}\ninput [ {{ name: \"x\" data_type: TYPE_FP32 dims: [ {string.Join(", ", dims)} ] }} ]\n" +
        "output [ { name: \"y\", data_type: TYPE_FP32, dims: [ 10 ] } ]\n";

    [Fact]
    public void An_interrupted_write_never_looks_like_a_version_and_is_left_alone()
    {
        TritonRepositoryVersions.Add(Requests.ResNet(models), _repo, Options);
        // What a build killed while copying version 2 leaves: a hidden staging folder with a partial model.
        var leftover = Path.Combine(_repo, "resnet", ".2.staging-4242-0123456789abcdef0123456789abcdef");
        Directory.CreateDirectory(leftover);
        File.WriteAllBytes(Path.Combine(leftover, "model.onnx"), [1, 2, 3]);
        Assert.Equal([1L], TritonRepositoryVersions.VersionsIn(Path.Combine(_repo, "resnet")));

        var added = TritonRepositoryVersions.Add(Requests.ResNet(models), _repo, Options);
        Assert.Equal(2, added.Version);
        Assert.Equal(File.ReadAllBytes(models.ResNetOnnx), File.ReadAllBytes(Path.Combine(_repo, "resnet", "2", "model.onnx")));
        Assert.Equal([1, 2, 3], File.ReadAllBytes(Path.Combine(leftover, "model.onnx")));
        // This build's own staging folder is gone: renamed into place.
        Assert.Equal([".2.staging-4242-0123456789abcdef0123456789abcdef", "1", "2"],
            Directory.EnumerateDirectories(Path.Combine(_repo, "resnet")).Select(Path.GetFileName).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void A_model_folder_without_a_config_is_refused() =>
        Refused("no config.pbtxt", () => Directory.CreateDirectory(Path.Combine(_repo, "resnet", "1")));

    [Fact]
    public void A_config_written_by_someone_else_is_refused() =>
        Refused("was not written by ModelForge", () =>
        {
            Directory.CreateDirectory(Path.Combine(_repo, "resnet", "1"));
            File.WriteAllText(Path.Combine(_repo, "resnet", "config.pbtxt"), "name: \"resnet\"\nplatform: \"onnxruntime_onnx\"\n");
        });

    [Fact]
    public void A_config_that_cannot_be_read_is_refused_with_its_line() =>
        Refused("cannot be read as a Triton config: line 3", () =>
        {
            TritonRepositoryVersions.Add(Requests.ResNet(models), _repo, Options);
            var path = Path.Combine(_repo, "resnet", "config.pbtxt");
            var lines = File.ReadAllLines(path);
            lines[2] = "platform: ]";
            File.WriteAllLines(path, lines);
        });

    [Fact]
    public void A_repository_that_is_a_file_is_refused()
    {
        Directory.CreateDirectory(Path.GetDirectoryName(_repo)!);
        File.WriteAllText(_repo, "");
        Rules.Fails(DiagnosticCode.TritonRepositoryInvalid, "is a file", () => TritonRepositoryVersions.Add(Requests.ResNet(models), _repo, Options));
    }

    [Fact]
    public void Version_policies_are_written_in_triton_syntax()
    {
        string Policy(TritonVersionPolicy policy) => TritonRepositoryWriter.Plan(Requests.ResNet(models), Options with { VersionPolicy = policy }).ConfigText;
        Golden.Check(Policy(TritonVersionPolicy.Parse("specific:1,3")), "config.versioned.pbtxt");
        Assert.Equal([1L, 3], TextProto.Parse(Policy(TritonVersionPolicy.Parse("specific:1,3"))).Message("version_policy").Message("specific").Longs("versions"));
        Assert.Empty(TextProto.Parse(Policy(TritonVersionPolicy.Parse("all"))).Message("version_policy").Message("all").Fields);
        Assert.Equal("3", TextProto.Parse(Policy(TritonVersionPolicy.Parse("latest:3"))).Message("version_policy").Message("latest").One("num_versions"));
    }

    [Theory]
    [InlineData("latest:0", "serves no version")]
    [InlineData("specific:5", "at least one version must be available under the version policy")]
    public void A_policy_that_serves_no_version_is_refused(string policy, string rule) =>
        Rules.Fails(DiagnosticCode.TritonConfigInvalid, rule,
            () => TritonRepositoryWriter.Plan(Requests.ResNet(models), Options with { VersionPolicy = TritonVersionPolicy.Parse(policy) }));

    [Theory]
    [InlineData("latest")]
    [InlineData("latest:x")]
    [InlineData("specific:")]
    [InlineData("newest:2")]
    [InlineData("all:1")]
    public void A_policy_that_is_not_one_of_the_three_forms_is_refused(string text) =>
        Rules.Fails(DiagnosticCode.TritonConfigInvalid, "is not latest:N, all or specific", () => TritonVersionPolicy.Parse(text));

    private static readonly string[] EnsembleModels = ["resnet", "resnet_ensemble", "resnet_fused", "resnet_postprocess", "resnet_preprocess"];

    private (ProcessingPlan Plan, ProcessingFiles Files) Processing(int topK = 3) =>
        EnsembleProcessing.ResNet(models, Path.Combine(Path.GetDirectoryName(_repo)!, $"processing-top{topK}"), topK);

    [Fact]
    public void Ensemble_builds_add_the_next_version_of_every_step_and_the_ensemble()
    {
        var (plan, files) = Processing();
        var added = Enumerable.Range(0, 3).Select(_ => TritonRepositoryVersions.AddEnsemble(Requests.ResNet(models), _repo, Options, plan, files)).ToList();

        Assert.All(added, build => Assert.Equal(EnsembleModels, build.Select(w => w.Model.Plan.ModelName).Order(StringComparer.Ordinal)));
        Assert.All(added, build => Assert.Equal("resnet", build[0].Model.Plan.ModelName));
        Assert.Equal([1, 2, 3], added.Select(build => build.Select(w => w.Version).Distinct().Single()));
        foreach (var model in EnsembleModels)
            Assert.Equal([1L, 2, 3], TritonRepositoryVersions.VersionsIn(Path.Combine(_repo, model)));
        Assert.Empty(Directory.EnumerateFileSystemEntries(Path.Combine(_repo, "resnet_ensemble", "3")));
        Assert.Equal(File.ReadAllBytes(files.FusedPath!), File.ReadAllBytes(Path.Combine(_repo, "resnet_fused", "3", "model.onnx")));
        Assert.True(added[1].All(w => !w.ConfigWritten), "an unchanged build leaves every config as it was");

        // Rebuilt with latest:2: version 4 everywhere, version 2 byte for byte, and the repository still a valid ensemble.
        var version2 = EnsembleModels.ToDictionary(m => m, m => Files(Path.Combine(_repo, m, "2")));
        var rebuilt = TritonRepositoryVersions.AddEnsemble(Requests.ResNet(models), _repo, Options with { VersionPolicy = new TritonVersionPolicy.Latest(2) }, plan, files);
        Assert.All(rebuilt, w => Assert.Equal([3L, 4], w.VersionsServed));
        foreach (var model in EnsembleModels)
        {
            Assert.Equal(version2[model], Files(Path.Combine(_repo, model, "2")));
            Assert.Equal("2", TextProto.Parse(File.ReadAllText(Path.Combine(_repo, model, "config.pbtxt"))).Message("version_policy").Message("latest").One("num_versions"));
        }
        var configs = EnsembleModels.ToDictionary(m => m, m => File.ReadAllText(Path.Combine(_repo, m, "config.pbtxt")));
        TritonEnsembleRules.Check(configs["resnet_ensemble"], configs.Where(c => c.Key is not ("resnet_ensemble" or "resnet_fused")).ToDictionary());
        foreach (var labelled in new[] { "resnet_postprocess", "resnet_ensemble", "resnet_fused" })
            Assert.True(File.Exists(Path.Combine(_repo, labelled, "labels.txt")), labelled);
    }

    [Fact]
    public void An_ensemble_whose_step_changes_its_interface_is_refused_whole_unless_new_config()
    {
        var (plan, files) = Processing();
        TritonRepositoryVersions.AddEnsemble(Requests.ResNet(models), _repo, Options, plan, files);
        var before = Files(_repo, includeHidden: true);
        var (top5, top5Files) = Processing(topK: 5);

        var e = Rules.Fails(DiagnosticCode.TritonConfigIncompatible, "output topk_scores: dims [-1,3] → [-1,5]",
            () => TritonRepositoryVersions.AddEnsemble(Requests.ResNet(models), _repo, Options, top5, top5Files));
        foreach (var changed in new[] { "resnet_postprocess", "resnet_ensemble", "resnet_fused" })
            Assert.Contains(Path.Combine(_repo, changed, "config.pbtxt"), e.Diagnostics[0].Message);
        Assert.DoesNotContain(Path.Combine(_repo, "resnet_preprocess", "config.pbtxt"), e.Diagnostics[0].Message);
        Assert.Equal(before, Files(_repo, includeHidden: true));

        var accepted = TritonRepositoryVersions.AddEnsemble(Requests.ResNet(models), _repo, Options with { NewConfig = true }, top5, top5Files);
        Assert.All(accepted, w => Assert.Equal(2, w.Version));
        Assert.Equal(["resnet_ensemble", "resnet_fused", "resnet_postprocess"], accepted.Where(w => w.Changes.Count > 0).Select(w => w.Model.Plan.ModelName).Order(StringComparer.Ordinal));
    }

    /// <summary>Refused as MF4014 after <paramref name="arrange"/>, with the repository as it was.</summary>
    private void Refused(string rule, Action arrange)
    {
        arrange();
        var before = Files(_repo, includeHidden: true);
        Rules.Fails(DiagnosticCode.TritonRepositoryInvalid, rule, () => TritonRepositoryVersions.Add(Requests.ResNet(models), _repo, Options));
        Assert.Equal(before, Files(_repo, includeHidden: true));
    }

    /// <summary>Every file under <paramref name="root"/> with its bytes, and every folder (as <c>path/</c>, no bytes), by relative path.</summary>
    private static SortedDictionary<string, byte[]> Files(string root, bool includeHidden = false)
    {
        var files = new SortedDictionary<string, byte[]>(StringComparer.Ordinal);
        foreach (var entry in Directory.EnumerateFileSystemEntries(root, "*", SearchOption.AllDirectories))
        {
            var path = Path.GetRelativePath(root, entry).Replace('\\', '/');
            if (!includeHidden && path.Split('/').Any(part => part.StartsWith('.'))) continue;
            if (File.Exists(entry)) files[path] = File.ReadAllBytes(entry);
            else files[path + "/"] = [];
        }
        return files;
    }

    private static void CopyDirectory(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var file in Directory.EnumerateFiles(from)) File.Copy(file, Path.Combine(to, Path.GetFileName(file)));
    }
}
