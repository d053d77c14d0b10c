using ModelForge.Core.Diagnostics;

namespace ModelForge.Package.Triton;

/// <summary>
/// Triton's ensemble checks (core <c>ensemble_utils.cc</c>, <c>ValidateEnsembleConfig</c>), applied to config texts: the
/// ensemble's and each step model's, as the server reads them from the repository. Every step model must be among the
/// configs; every input of a step model mapped, and only its inputs and outputs; each ensemble tensor written once (by
/// the request or one step) and read only where it is written; every ensemble input used and every ensemble output
/// written; connected tensors of one data type and shape; no step with a smaller <c>max_batch_size</c> than the ensemble's.
/// </summary>
internal static class TritonEnsembleRules
{
    /// <param name="stepConfigs">Model name → its config.pbtxt text.</param>
    /// <exception cref="ModelForgeException">MF4073 naming the first rule broken.</exception>
    public static void Check(string ensembleConfig, IReadOnlyDictionary<string, string> stepConfigs)
    {
        var config = PbtxtReader.Read(ensembleConfig);
        var ensemble = TritonInterface.Read(ensembleConfig);
        var name = config.Scalar("name") ?? "?";
        if (ensemble.Platform != "ensemble" || config.Scalar("backend") is not null)
            throw Invalid($"Ensemble model '{name}' must have platform type 'ensemble' and empty backend type", "write platform: \"ensemble\" and no backend");
        var steps = config.Message("ensemble_scheduling")?.Messages("step").ToList() ?? [];
        if (steps.Count == 0) throw Invalid($"must specify one or more 'step's for ensemble '{name}'", "list the steps in ensemble_scheduling");

        // Every ensemble tensor: who writes it (the request, or a step) and its type and full shape there.
        var written = ensemble.Inputs.ToDictionary(t => t.Name, t => (By: "the request", Tensor: t));
        var reads = new List<(string Tensor, string Step, TritonTensor Expected)>();
        foreach (var step in steps)
        {
            var modelName = step.Scalar("model_name") ?? throw Invalid($"a step of ensemble '{name}' must specify model_name", "name each step's model");
            if (!stepConfigs.TryGetValue(modelName, out var stepText))
                throw Invalid($"ensemble '{name}' contains model '{modelName}', which is not in the repository", "write every step model beside the ensemble");
            var model = TritonInterface.Read(stepText);
            if (ensemble.MaxBatchSize > 0 && model.MaxBatchSize < ensemble.MaxBatchSize)
                throw Invalid($"ensemble '{name}' allows maximum batch size {ensemble.MaxBatchSize}, but it contains model '{modelName}' which only allows maximum batch size to be {model.MaxBatchSize}",
                    "give every step at least the ensemble's max_batch_size");
            var inputMap = Map(step, "input_map");
            foreach (var (key, tensor) in inputMap)
            {
                var input = model.Inputs.FirstOrDefault(i => i.Name == key)
                    ?? throw Invalid($"in ensemble '{name}', ensemble tensor '{tensor}' is mapping to non-existing input '{key}' in model '{modelName}'", "map the step model's own input names");
                reads.Add((tensor, modelName, input));
            }
            var unmapped = model.Inputs.FirstOrDefault(i => !inputMap.ContainsKey(i.Name));
            if (unmapped is not null)
                throw Invalid($"in ensemble '{name}', input '{unmapped.Name}' of model '{modelName}' is not mapped to any ensemble tensor", "map every input of each step model");
            foreach (var (key, tensor) in Map(step, "output_map"))
            {
                var output = model.Outputs.FirstOrDefault(o => o.Name == key)
                    ?? throw Invalid($"in ensemble '{name}', ensemble tensor '{tensor}' is mapping from non-existing output '{key}' in model '{modelName}'", "map the step model's own output names");
                if (!written.TryAdd(tensor, ($"model '{modelName}'", output)))
                    throw Invalid($"ensemble tensor '{tensor}' can appear in an output map only once for ensemble '{name}' (written by {written[tensor].By} and model '{modelName}')",
                        "give each step output its own ensemble tensor");
            }
        }
        foreach (var (tensor, step, expected) in reads)
        {
            if (!written.TryGetValue(tensor, out var source))
                throw Invalid($"in ensemble '{name}', ensemble tensor '{tensor}' read by model '{step}' is written by no step and is not an ensemble input", "map it from a step's output or declare it as an input");
            Agree(name, tensor, source, ($"model '{step}'", expected));
        }
        foreach (var input in ensemble.Inputs.Where(i => reads.All(r => r.Tensor != i.Name)))
            throw Invalid($"ensemble input '{input.Name}' for ensemble '{name}' is not used", "map every ensemble input into a step");
        foreach (var output in ensemble.Outputs)
        {
            if (!written.TryGetValue(output.Name, out var source) || source.By == "the request")
                throw Invalid($"output '{output.Name}' for ensemble '{name}' is not written", "map a step output to every ensemble output");
            Agree(name, output.Name, source, ($"ensemble '{name}'", output));
        }
    }

    private static void Agree(string ensemble, string tensor, (string By, TritonTensor Tensor) a, (string By, TritonTensor Tensor) b)
    {
        if (a.Tensor.DataType != b.Tensor.DataType)
            throw Invalid($"in ensemble '{ensemble}', ensemble tensor '{tensor}': inconsistent data type: {a.Tensor.DataType} is inferred from {a.By} while {b.Tensor.DataType} is inferred from {b.By}",
                "connect tensors of one data type");
        if (!a.Tensor.Dims.SequenceEqual(b.Tensor.Dims))
            throw Invalid($"in ensemble '{ensemble}', ensemble tensor '{tensor}': inconsistent shape: [{string.Join(",", a.Tensor.Dims)}] is inferred from {a.By} while [{string.Join(",", b.Tensor.Dims)}] is inferred from {b.By}",
                "connect tensors of one shape");
    }

    private static Dictionary<string, string> Map(PbtxtMessage step, string field) =>
        step.Messages(field).ToDictionary(m => m.Scalar("key") ?? "", m => m.Scalar("value") ?? "");

    private static ModelForgeException Invalid(string message, string hint) =>
        new(DiagnosticCode.TritonEnsembleInvalid, message, null, hint + " (an ensemble ModelForge assembled breaks this: please report it)");
}
