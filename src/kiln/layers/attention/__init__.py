"""Attention layers: `MultiHeadAttention`."""

from kiln.layers.attention.multi_head_attention import MultiHeadAttention

__all__ = ["MultiHeadAttention"]
