"""Smart segments, scikit-learn style: blend vectors with behaviour, choose k by silhouette and bootstrap
stability, name and explain clusters contrastively, export membership as rules, keep ids across refreshes.

A library: no FastAPI, no settings. The service in app/segments/ feeds it profile records and stores results.
"""

from segmentation.attributes import Attribute, AttributeTable, attribute_table
from segmentation.behaviour import BehaviourSpec
from segmentation.blend import ProfileBlender
from segmentation.clustering import AutoKMeans
from segmentation.discovery import Discovery, SegmentModel, discover, fit_space, project
from segmentation.matching import match_overlaps, match_segments
from segmentation.naming import SegmentDescription, describe_segments
from segmentation.rules import Rule, extract_rule

__all__ = ["Attribute", "AttributeTable", "BehaviourSpec", "AutoKMeans", "ProfileBlender", "Rule", "SegmentDescription",
           "Discovery", "SegmentModel", "attribute_table", "describe_segments", "discover", "extract_rule", "fit_space",
           "match_overlaps", "match_segments", "project"]
