"""Dense-prediction model families of issue 18: segmentation, video classification and optical flow (torchvision).

models() maps a name to a builder: builder(size) -> (model in eval mode, example inputs tuple, tolerance dict).
size "small" gives the narrow, shallow configurations committed as fixtures (fixtures/families/generate.py);
"full" gives torchvision's own configurations, for bench/coverage-bench.sh FAMILIES=1.
Random weights; every BatchNorm gets random affine parameters and running statistics calibrated on a few random
batches in train mode, so activations stay near unit scale and folding mistakes show.

Runs under Debian's PyTorch 1.13 / torchvision 0.14 and PyTorch 2.6 / torchvision 0.21 (fixtures/chroot-2x.sh).
Swin3D arrived in torchvision 0.15: on 0.14 it is absent from models().
"""

import importlib

import torch
from torch import nn
from torchvision.models import mobilenet_v3_large
from torchvision.models import optical_flow, video
from torchvision.models._utils import IntermediateLayerGetter
from torchvision.models.resnet import Bottleneck, ResNet
from torchvision.models.segmentation import deeplabv3, fcn, lraspp
from torchvision.models.video import resnet as video_resnet
from torchvision.models.video.mvit import MSBlockConfig, MViT

s3d_blocks = importlib.import_module("torchvision.models.video.s3d")  # video.s3d is the builder function

TOLERANCE = {"atol": 1e-4, "rtol": 1e-3}
SEED = 0


def _calibrated(model, make_input, batches=4):
    """Random BatchNorm affine parameters, running statistics averaged over a few random batches, then eval mode."""
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    with torch.no_grad():
        for bn in norms:
            if bn.affine:
                bn.weight.copy_(torch.rand(bn.num_features) + 0.5)
                bn.bias.copy_(torch.randn(bn.num_features) * 0.1)
            bn.reset_running_stats()
            bn.momentum = None  # cumulative average over the calibration batches
        if norms:
            model.train()
            for _ in range(batches):
                model(*make_input(2))
    return model.eval()


def _built(make_model, make_input):
    torch.manual_seed(SEED)
    model = _calibrated(make_model(), make_input)
    return model, make_input(2), dict(TOLERANCE)


def _images(*shape, count=1):
    return lambda batch: tuple(torch.randn(batch, *shape) for _ in range(count))


class SegmentationOut(nn.Module):
    """torchvision's segmentation models return {"out": ..., "aux": ...}; the mask is "out" (aux serves training)."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, x):
        return self.model(x)["out"]


class FinalFlow(nn.Module):
    """RAFT returns the flow after every update; the last one is the prediction."""

    def __init__(self, model, num_flow_updates: int):
        super().__init__()
        self.model = model
        self.num_flow_updates = num_flow_updates

    def forward(self, image1, image2):
        return self.model(image1, image2, self.num_flow_updates)[-1]


class _NarrowResNet(ResNet):
    """torchvision's ResNet with every stage 32 times narrower (the stem keeps its 64 channels)."""

    def _make_layer(self, block, planes, blocks, stride=1, dilate=False):
        return super()._make_layer(block, planes // 32, blocks, stride, dilate)


class _NarrowVideoResNet(video_resnet.VideoResNet):
    """torchvision's VideoResNet with every stage 16 times narrower (the stem keeps its channels)."""

    def _make_layer(self, block, conv_builder, planes, blocks, stride=1):
        return super()._make_layer(block, conv_builder, planes // 16, blocks, stride)


def _dilated_resnet_backbone():
    """fcn_resnet50's backbone shape (output stride 8 through dilation), one narrow bottleneck per stage."""
    resnet = _NarrowResNet(Bottleneck, [1, 1, 1, 1], num_classes=1, replace_stride_with_dilation=[False, True, True])
    return IntermediateLayerGetter(resnet, return_layers={"layer4": "out"}), 16 * Bottleneck.expansion


def _fcn_small():
    backbone, channels = _dilated_resnet_backbone()
    return SegmentationOut(fcn.FCN(backbone, fcn.FCNHead(channels, 5)))


def _deeplabv3_small():
    backbone, channels = _dilated_resnet_backbone()
    head = nn.Sequential(deeplabv3.ASPP(channels, [2, 4, 6], out_channels=16), nn.Conv2d(16, 16, 3, padding=1, bias=False),
                         nn.BatchNorm2d(16), nn.ReLU(), nn.Conv2d(16, 5, 1))
    return SegmentationOut(deeplabv3.DeepLabV3(backbone, head))


def _lraspp(width_mult, num_classes, inter_channels):
    """torchvision's _lraspp_mobilenetv3 with a width multiplier and a narrower head."""
    features = mobilenet_v3_large(width_mult=width_mult, dilated=True).features
    stages = [0] + [i for i, b in enumerate(features) if getattr(b, "_is_cn", False)] + [len(features) - 1]
    low, high = stages[-4], stages[-1]
    backbone = IntermediateLayerGetter(features, return_layers={str(low): "low", str(high): "high"})
    return SegmentationOut(lraspp.LRASPP(backbone, features[low].out_channels, features[high].out_channels, num_classes,
                                         inter_channels))


def _video_resnet_small(block_conv, stem):
    def build():
        model = _NarrowVideoResNet(video_resnet.BasicBlock, [block_conv] * 4, [1, 1, 1, 1], stem)
        model.fc = nn.Linear(32, 10)  # VideoResNet sizes its classifier for the full width
        return model
    return build


def _s3d_small():
    """torchvision's S3D with its blocks 8 times narrower and two Inception blocks instead of nine."""
    s3d = video.S3D(num_classes=10)
    bn = nn.BatchNorm3d
    s3d.features = nn.Sequential(
        s3d_blocks.TemporalSeparableConv(3, 8, 7, 2, 3, bn),
        nn.MaxPool3d(kernel_size=(1, 3, 3), stride=(1, 2, 2), padding=(0, 1, 1)),
        s3d_blocks.TemporalSeparableConv(8, 24, 3, 1, 1, bn),
        nn.MaxPool3d(kernel_size=(1, 3, 3), stride=(1, 2, 2), padding=(0, 1, 1)),
        s3d_blocks.SepInceptionBlock3D(24, 8, 12, 16, 2, 4, 4, bn),
        nn.MaxPool3d(kernel_size=(3, 3, 3), stride=(2, 2, 2), padding=(1, 1, 1)),
        s3d_blocks.SepInceptionBlock3D(32, 8, 12, 16, 2, 4, 4, bn),
    )
    s3d.avgpool = nn.AvgPool3d(kernel_size=(2, 2, 2), stride=1)
    s3d.classifier[1] = nn.Conv3d(32, 10, kernel_size=1, stride=1, bias=True)
    return s3d


def _mvit_small(v2):
    """Two scales of one block each (MViT v1: absolute position embedding; v2: relative positions, residual pooling)."""
    blocks = [MSBlockConfig(1, 16, 16, [3, 3, 3], [3, 3, 3], [1, 1, 1], [1, 2, 2]),
              MSBlockConfig(2, 16, 32, [3, 3, 3], [3, 3, 3], [1, 2, 2], [1, 1, 1])]
    return MViT(spatial_size=(32, 32), temporal_size=4, block_setting=blocks, residual_pool=v2,
                residual_with_cls_embed=not v2, rel_pos_embed=v2, proj_after_attn=v2, num_classes=10)


def _swin3d_small():
    return video.swin_transformer.SwinTransformer3d(patch_size=[2, 4, 4], embed_dim=16, depths=[1, 1], num_heads=[1, 2],
                                                    window_size=[2, 4, 4], stochastic_depth_prob=0.0, num_classes=10)


# The small configurations build a correlation pyramid of 3 levels, not 4: on a 64x64 image the fourth level would be
# 1x1, where RAFT's grid normalisation divides by zero (size - 1) and the flow is NaN.
def _raft_small_config():
    raft = optical_flow.raft
    return dict(feature_encoder_layers=(8, 8, 12, 16, 24), feature_encoder_block=raft.BottleneckBlock,
                feature_encoder_norm_layer=nn.InstanceNorm2d, context_encoder_layers=(8, 8, 12, 16, 32),
                context_encoder_block=raft.BottleneckBlock, context_encoder_norm_layer=None, corr_block_num_levels=3,
                corr_block_radius=3, motion_encoder_corr_layers=(16,), motion_encoder_flow_layers=(16, 8),
                motion_encoder_out_channels=14, recurrent_block_hidden_state_size=16, recurrent_block_kernel_size=(3,),
                recurrent_block_padding=(1,), flow_head_hidden_size=16, use_mask_predictor=False)


def _raft_large_config():
    raft = optical_flow.raft
    return dict(feature_encoder_layers=(8, 8, 12, 16, 32), feature_encoder_block=raft.ResidualBlock,
                feature_encoder_norm_layer=nn.InstanceNorm2d, context_encoder_layers=(8, 8, 12, 16, 32),
                context_encoder_block=raft.ResidualBlock, context_encoder_norm_layer=nn.BatchNorm2d,
                corr_block_num_levels=3, corr_block_radius=4, motion_encoder_corr_layers=(16, 12),
                motion_encoder_flow_layers=(12, 8), motion_encoder_out_channels=16,
                recurrent_block_hidden_state_size=16, recurrent_block_kernel_size=((1, 5), (5, 1)),
                recurrent_block_padding=((0, 2), (2, 0)), flow_head_hidden_size=16, use_mask_predictor=True)


def _raft_small_model(config, num_flow_updates):
    raft = optical_flow.raft._raft(**config)
    if raft.mask_predictor is not None:  # its hidden width is fixed at 256 in torchvision
        raft.mask_predictor = optical_flow.raft.MaskPredictor(in_channels=16, hidden_size=16, multiplier=0.25)
    return FinalFlow(raft, num_flow_updates)


def _raft(small_config, full_builder, small_updates, full_updates):
    def build(size):
        if size == "small":
            return _built(lambda: _raft_small_model(small_config(), small_updates), _images(3, 64, 64, count=2))
        return _built(lambda: FinalFlow(full_builder(), full_updates), _images(3, 224, 224, count=2))
    return build


def _family(small, small_input, full, full_input):
    def build(size):
        return _built(small, small_input) if size == "small" else _built(full, full_input)
    return build


def models():
    seg_small, seg_full = _images(3, 64, 64), _images(3, 224, 224)
    clip_small, clip_full = _images(3, 4, 32, 32), _images(3, 16, 112, 112)
    built = {
        "fcn": _family(_fcn_small, seg_small, lambda: SegmentationOut(fcn.fcn_resnet50(weights_backbone=None)), seg_full),
        "deeplabv3": _family(_deeplabv3_small, seg_small,
                             lambda: SegmentationOut(deeplabv3.deeplabv3_resnet50(weights_backbone=None)), seg_full),
        "lraspp": _family(lambda: _lraspp(0.1, 5, 16), seg_small,
                          lambda: SegmentationOut(lraspp.lraspp_mobilenet_v3_large(weights_backbone=None)), seg_full),
        "r3d": _family(_video_resnet_small(video_resnet.Conv3DSimple, video_resnet.BasicStem), clip_small,
                       video.r3d_18, clip_full),
        "mc3": _family(_video_resnet_small(video_resnet.Conv3DNoTemporal, video_resnet.BasicStem), clip_small,
                       video.mc3_18, clip_full),
        "r2plus1d": _family(_video_resnet_small(video_resnet.Conv2Plus1D, video_resnet.R2Plus1dStem), clip_small,
                            video.r2plus1d_18, clip_full),
        "s3d": _family(_s3d_small, _images(3, 8, 32, 32), video.s3d, _images(3, 16, 224, 224)),
        "mvit_v1": _family(lambda: _mvit_small(False), clip_small, video.mvit_v1_b, _images(3, 16, 224, 224)),
        "mvit_v2": _family(lambda: _mvit_small(True), clip_small, video.mvit_v2_s, _images(3, 16, 224, 224)),
        "raft_small": _raft(_raft_small_config, optical_flow.raft_small, 3, 12),
        "raft_large": _raft(_raft_large_config, optical_flow.raft_large, 3, 12),
    }
    if hasattr(video, "swin3d_t"):  # torchvision 0.15+
        built["swin3d"] = _family(_swin3d_small, _images(3, 4, 32, 32), video.swin3d_t, _images(3, 16, 224, 224))
    return built


# Which family each model belongs to, for the benchmark's per-family tables.
FAMILIES = {
    "segmentation": ["fcn", "deeplabv3", "lraspp"],
    "video": ["r3d", "mc3", "r2plus1d", "s3d", "mvit_v1", "mvit_v2", "swin3d"],
    "optical_flow": ["raft_small", "raft_large"],
}

# Each family's largest model at size "full" (torchvision's parameter counts), for the benchmark's speed check.
LARGEST = {"segmentation": "deeplabv3", "video": "mvit_v1", "optical_flow": "raft_large"}
