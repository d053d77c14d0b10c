using System.Globalization;
using System.Text;
using ModelForge.Core.IO;
using ModelForge.Package.Processing;

namespace ModelForge.Package.TorchServe;

/// <summary>
/// The TorchServe handler for a model with pre- and post-processing: the same steps as the Triton ensemble's
/// <c>NAME_preprocess</c> and <c>NAME_postprocess</c> models, written in torch (<c>F.interpolate(mode="bilinear",
/// align_corners=False)</c> is the ONNX Resize's linear half-pixel rule), so both bundles answer one raw request alike.
/// A request body is the uint8 image as a JSON nested list in the declared layout (what a Triton client sends for
/// <c>image</c>, without the batch dim) or an encoded image file (PNG, JPEG) of the declared size. The steps are module
/// functions, <c>preprocess_images</c> and <c>postprocess_scores</c>, importable without TorchServe.
/// </summary>
public static class ProcessingHandler
{
    /// <summary>Writes <c>NAME_handler.py</c> into <paramref name="directory"/> and returns its path.</summary>
    public static string Write(ProcessingPlan plan, string modelName, string directory)
    {
        var path = Path.Combine(directory, modelName + "_handler.py");
        Directory.CreateDirectory(directory);
        AtomicFile.Write(path, stream => stream.Write(Encoding.UTF8.GetBytes(Source(plan, modelName))));
        return path;
    }

    public static string Source(ProcessingPlan plan, string modelName)
    {
        var pre = plan.Preprocess;
        var post = plan.Postprocess;
        (long Height, long Width)? request = pre is null ? null : plan.RequestSize;
        var settings = new StringBuilder()
            .Append("PREPROCESS = ").Append(Bool(pre is not null)).Append('\n')
            .Append("LAYOUT = ").Append(Str(pre?.Layout.ToString().ToLowerInvariant() ?? "nchw")).Append('\n')
            .Append("CHANNEL_ORDER = ").Append(Str(pre?.ChannelOrder.ToString().ToLowerInvariant() ?? "rgb")).Append('\n')
            .Append("REQUEST_SIZE = ").Append(request is { } r ? $"({r.Height}, {r.Width})" : "None").Append('\n')
            .Append("MODEL_SIZE = ").Append(plan.Input is { } input ? $"({input.Height}, {input.Width})" : "None").Append('\n')
            .Append("MEAN = ").Append(Floats(pre?.Mean)).Append('\n')
            .Append("STD = ").Append(Floats(pre?.Std)).Append('\n')
            .Append("POSTPROCESS = ").Append(Bool(post is not null)).Append('\n')
            .Append("SOFTMAX = ").Append(Bool(post?.Softmax ?? false)).Append('\n')
            .Append("TOP_K = ").Append(post?.TopK?.ToString(CultureInfo.InvariantCulture) ?? "None").Append('\n')
            .Append("ARGMAX = ").Append(Bool(post?.Argmax ?? false)).Append('\n')
            .Append("LABEL_FILE = ").Append(post?.LabelFile is { } labels ? Str(Path.GetFileName(labels)) : "None").Append('\n');
        return Template.Replace("{MODEL}", modelName, StringComparison.Ordinal).Replace("{SETTINGS}", settings.ToString(), StringComparison.Ordinal);
    }

    private static string Bool(bool value) => value ? "True" : "False";

    private static string Str(string value) => PythonJson.String(value);

    /// <summary>Round-trip float32 text: Python's float of it rounds back to the same float32 in torch.</summary>
    private static string Floats(IReadOnlyList<float>? values) => values is null || values.Count == 0 ? "None"
        : "[" + string.Join(", ", values.Select(v => v.ToString("R", CultureInfo.InvariantCulture))) + "]";

    private const string Template = """
        # TorchServe handler written by ModelForge for {MODEL}: the preprocessing and postprocessing of the Triton
        # ensemble {MODEL}_ensemble, in torch, so both bundles answer one raw request alike
        # (docs/serving.md, "Ensembles with pre- and post-processing").
        import io
        import json
        import os

        import torch
        import torch.nn.functional as F

        try:
            from ts.torch_handler.base_handler import BaseHandler
        except ImportError:  # preprocess_images and postprocess_scores also run without TorchServe (tests, notebooks)
            BaseHandler = object

        {SETTINGS}

        def preprocess_images(images):
            "uint8 images [N, ...] in LAYOUT and CHANNEL_ORDER -> the model's float32 [N, C, H, W], as {MODEL}_preprocess."
            x = images.to(torch.float32)
            if LAYOUT == "hwc":
                x = x.permute(0, 3, 1, 2)
            if CHANNEL_ORDER == "bgr":
                x = x.flip(1)
            if REQUEST_SIZE != MODEL_SIZE:
                x = F.interpolate(x, size=MODEL_SIZE, mode="bilinear", align_corners=False)
            x = x / 255.0
            if MEAN is not None:
                x = x - torch.tensor(MEAN, dtype=torch.float32).view(1, -1, 1, 1)
            if STD is not None:
                x = x / torch.tensor(STD, dtype=torch.float32).view(1, -1, 1, 1)
            return x.contiguous()


        def postprocess_scores(output):
            "The model's [N, classes] output -> the tensors {MODEL}_postprocess returns, by name."
            scores = torch.softmax(output, dim=-1) if SOFTMAX else output
            result = {"scores": scores}
            if TOP_K is not None:
                values, indices = torch.topk(scores, TOP_K, dim=-1)
                result["topk_scores"] = values
                result["topk_indices"] = indices
            if ARGMAX:
                result["class_index"] = scores.argmax(dim=-1, keepdim=True)
            return result


        def decode(body):
            "A JSON nested list (the uint8 image in LAYOUT, as a Triton client sends it) or an encoded image file of REQUEST_SIZE."
            if isinstance(body, (bytes, bytearray)):
                try:
                    body = json.loads(body.decode("utf-8"))
                except (UnicodeDecodeError, ValueError):
                    import numpy as np
                    from PIL import Image

                    image = np.asarray(Image.open(io.BytesIO(body)).convert("RGB"))
                    if CHANNEL_ORDER == "bgr":
                        image = image[:, :, ::-1]
                    tensor = torch.from_numpy(image.copy())
                    return tensor if LAYOUT == "hwc" else tensor.permute(2, 0, 1)
            return torch.tensor(body, dtype=torch.uint8)


        class ModelForgeHandler(BaseHandler):
            def initialize(self, context):
                super().initialize(context)
                self.labels = None
                if LABEL_FILE is not None:
                    with open(os.path.join(context.system_properties.get("model_dir"), LABEL_FILE), encoding="utf-8") as f:
                        self.labels = f.read().splitlines()

            def preprocess(self, data):
                rows = [row.get("data") or row.get("body") for row in data]
                if not PREPROCESS:
                    return super().preprocess(data)
                batch = torch.stack([decode(row) for row in rows])
                return preprocess_images(batch).to(self.device)

            def postprocess(self, data):
                if not POSTPROCESS:
                    return super().postprocess(data)
                result = postprocess_scores(data.float().cpu())
                responses = []
                for n in range(result["scores"].shape[0]):
                    response = {name: tensor[n].tolist() for name, tensor in result.items()}
                    if self.labels is not None and "topk_indices" in response:
                        response["topk_labels"] = [self.labels[i] for i in response["topk_indices"]]
                    if self.labels is not None and "class_index" in response:
                        response["label"] = self.labels[response["class_index"][0]]
                    responses.append(response)
                return responses

        """;
}
